/*
 * Counters shared by the packet loop, the SA table and the N-API glue.
 * Plain uint64_t fields, each written by one packet thread (with two, each
 * side keeps its own copy: loop_internal.h); JavaScript reads a snapshot
 * that adds the copies up (commands.c, DP_CMD_SNAPSHOT).
 */
#ifndef CGWD_COUNTERS_H
#define CGWD_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Drop reasons. The names (drop_reason_name) are a stable interface: they are
 * the keys of counters().drops in JavaScript. Append only. */
enum dp_drop {
    DROP_REPLAY,          /* anti-replay: duplicate or left of the window */
    DROP_ICV,             /* ICV / GCM tag mismatch */
    DROP_NO_SA,           /* unknown SPI */
    DROP_MALFORMED,       /* short, truncated, bad lengths, bad inner IPv4 header */
    DROP_BAD_PADDING,     /* padding bytes not 1, 2, 3, ... or pad length too long */
    DROP_BAD_NEXT_HEADER, /* next header other than 4 (IPv4), 41 or 59 */
    DROP_QUEUE_FULL,      /* a bounded queue was full (UDP send buffer, event queue) */
    DROP_TUN_WRITE,       /* writing the inner packet to the TUN failed */
    DROP_NO_OUTBOUND_SA,  /* packet from a TUN whose tunnel has no usable SA */
    DROP_MTU,             /* too big and DF set (ICMP sent), or cannot be fragmented */
    DROP_SEQ_EXHAUSTED,   /* outbound sequence number would wrap (no ESN) */
    DROP_EXPIRED,         /* SA past its hard lifetime */
    DROP_NOT_IPV4,        /* inner packet is not IPv4 (IPv6 from the TUN, next header 41) */
    DROP_DUMMY,           /* next header 59: dummy packet (RFC 4303 §2.6), dropped by design */
    DROP_UDP_SEND,        /* sendmmsg failed for another reason */
    DROP_IKE_FILTERED,    /* non-ESP-marker datagram from a source that is not a configured IKE peer */
    DROP_COUNT
};

extern const char *const drop_reason_name[DROP_COUNT];

/* Traffic of one SA or one tunnel. In = after decryption, out = before
 * encryption (inner packet bytes): CloudWatch TunnelDataIn/TunnelDataOut. */
struct dp_traffic {
    uint64_t packets_in, bytes_in, packets_out, bytes_out;
    uint64_t drops[DROP_COUNT];
};

/* Per-tunnel extras: what the per-packet options did. */
struct dp_tunnel_extra {
    uint64_t mss_clamped, df_cleared, fragmented, fragments_out, icmp_frag_needed;
    uint64_t tso_packets; /* TCP super-packets read from the TUN (offload) and split here */
    uint64_t gro_packets; /* coalesced TCP super-packets written to the TUN */
};

/* Instance-wide. `drops` counts every drop once, whether or not it could be
 * attributed to a tunnel or an SA. */
struct dp_global {
    uint64_t udp_datagrams_in, udp_datagrams_out;
    uint64_t esp_in;           /* datagrams classified as ESP */
    uint64_t keepalives_in;    /* 1-byte 0xFF NAT keepalives (dropped silently) */
    uint64_t ike_in;           /* datagrams with the non-ESP marker passed to JavaScript */
    uint64_t ike_out;          /* sendIke */
    uint64_t ike_dropped;      /* IKE datagrams lost because the JS queue (or their quota of it) was full (also in drops.queue_full) */
    uint64_t ike_filtered;     /* IKE datagrams from sources other than the configured peers (also in drops.ike_filtered) */
    uint64_t events_dropped;   /* SA events that could not be queued (retried later) */
    uint64_t tun_packets_in;   /* packets read from TUN devices */
    uint64_t wakeups;          /* epoll wakeups of the packet thread */
    uint64_t udp_gso_sends;    /* messages that carried several datagrams (UDP_SEGMENT) */
    uint64_t udp_gro_receives; /* received messages that carried several datagrams (UDP_GRO) */
    uint64_t drops[DROP_COUNT];
};

/* sum = a + b, field by field, for any of the structs above (all uint64_t, so summed as arrays). */
_Static_assert(sizeof(struct dp_global) % sizeof(uint64_t) == 0, "dp_global holds uint64_t only");
_Static_assert(sizeof(struct dp_traffic) % sizeof(uint64_t) == 0, "dp_traffic holds uint64_t only");
_Static_assert(sizeof(struct dp_tunnel_extra) % sizeof(uint64_t) == 0, "dp_tunnel_extra holds uint64_t only");
static inline void dp_counters_add(void *sum, const void *a, const void *b, size_t size) {
    for (size_t off = 0; off + sizeof(uint64_t) <= size; off += sizeof(uint64_t)) {
        uint64_t x, y;
        memcpy(&x, (const uint8_t *)a + off, sizeof(x));
        memcpy(&y, (const uint8_t *)b + off, sizeof(y));
        x += y;
        memcpy((uint8_t *)sum + off, &x, sizeof(x));
    }
}

#endif
