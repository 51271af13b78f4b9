/*
 * One data plane instance: a packet thread that owns a UDP socket and the TUN
 * devices of its tunnels, inside one network namespace.
 *
 *   TUN cgw-tN --read (TSO split)--> clamp MSS, clear DF, fragment | ESP encap --sendmmsg (GSO)--> UDP 4500
 *   UDP 4500 --recvmmsg (GRO)--> 0xFF keepalive: count | marker 0000: IKE -> JS | ESP decap --write (TCP GRO)--> TUN
 *
 * The packet thread owns every piece of state. JavaScript acts through
 * commands (dp_command) that the thread runs between batches while the caller
 * waits, so the packet path takes no locks, and through dp_send_udp, a plain
 * sendmsg on the shared socket. With threads = 2 the two directions get a
 * thread each (cgwd-dp-out: TUN -> UDP, commands, timers; cgwd-dp-in: UDP ->
 * TUN, IKE), which take a read lock per batch that commands take for writing:
 * see loop_internal.h. Events (IKE datagrams, SA expiry) leave through
 * the emit callback, which must not block (the N-API glue uses a bounded
 * threadsafe function queue: full means dropped and counted).
 */
#ifndef CGWD_DATAPLANE_H
#define CGWD_DATAPLANE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "sa.h"

#define DP_MAX_TUNNELS 8      /* tunnel ids 1..8 (AWS: 1 and 2) */
#define DP_MAX_PKT 9216       /* largest inner packet (TUN MTU limit) */
#define DP_SLOT_SIZE 9344     /* ESP_PREFIX + DP_MAX_PKT + ESP_SUFFIX, rounded up */
#define DP_MAX_BATCH 256
#define DP_MAX_IKE_PEERS 8    /* configured IKE peers whose non-ESP-marker datagrams reach JavaScript */

enum dp_status { DP_OK = 0, DP_ERR_ARG, DP_ERR_EXISTS, DP_ERR_NOT_FOUND, DP_ERR_CLOSED, DP_ERR_SYSTEM };

struct dp_options {
    const char *netns;       /* path such as /run/netns/NAME, or NULL for the caller's namespace */
    struct sockaddr_in local;
    int batch;               /* packets per recvmmsg/sendmmsg/TUN burst */
    int rcvbuf, sndbuf;      /* UDP socket buffers, bytes */
    int tun_offload;         /* TUN devices with virtio_net_hdr: unfinished checksums, TCP super-packets */
    int udp_offload;         /* UDP GSO for sending, GRO for receiving ESP */
    int event_queue;         /* capacity of the queue to JavaScript (0: 1024), for the IKE quotas in rx.c */
    uint32_t ike_peers[DP_MAX_IKE_PEERS]; /* network order; IKE from other sources is dropped in C */
    int ike_peer_count;      /* 0: no filter (every source shares one quota) */
    int threads;             /* packet threads: 1 (0 means 1), or 2 (one per direction); others: DP_ERR_ARG */
};

enum dp_event_type { DP_EV_IKE = 0, DP_EV_SA_SOFT, DP_EV_SA_HARD, DP_EV_SA_SEQ, DP_EV_ERROR, DP_EV_PROBE };

struct dp_event {
    enum dp_event_type type;
    uint32_t sa_id;
    int tunnel;
    int reason;                 /* enum sa_expiry_reason */
    uint64_t seq;               /* DP_EV_SA_SEQ: last sequence number used; DP_EV_PROBE: the probe's */
    int64_t rtt_us;             /* DP_EV_PROBE: round trip, or -1 when unanswered */
    uint64_t inbound;           /* DP_EV_PROBE: other packets the tunnel decrypted since the probe left */
    struct sockaddr_in from;    /* DP_EV_IKE */
    int ike_bucket;             /* DP_EV_IKE: whose quota it counts against (dp_ike_consumed) */
    char message[160];          /* DP_EV_ERROR */
    size_t len;
    uint8_t data[];             /* DP_EV_IKE: the datagram without the marker */
};

/* Returns 0 when queued (ownership passes), non-zero when not (caller frees). */
typedef int (*dp_emit_fn)(void *ctx, struct dp_event *ev);

struct dp_tunnel_options {
    int tunnel;
    char ifname[IFNAMSIZ];
    int mtu;
    uint32_t address, peer;  /* network order; peer = AWS inside address, source of our ICMP errors */
    int prefix_len;
    int txqueuelen;
    int disable_ipv6;
    uint16_t mss;            /* 0 = no clamping */
    uint8_t clear_df, fragment;
    int path_mtu;            /* underlay MTU the ESP-in-UDP datagrams must fit */
};

struct dp_probe_snapshot {
    uint8_t on;
    uint32_t target, interval_ms;
    uint64_t sent, answered, lost, late, last_rtt_us;
    int64_t inbound_age_ms; /* since the tunnel last decrypted a packet; -1: never */
};

struct dp_sa_snapshot {
    uint32_t id;
    int tunnel;
    uint32_t spi_in, spi_out;
    const char *encryption, *integrity;
    uint64_t seq_out, replay_top, age_ms;
    uint32_t replay_window;
    uint8_t outbound, dead, soft_expired;
    struct dp_traffic ctr;
};

struct dp_tunnel_snapshot {
    int tunnel;
    char ifname[IFNAMSIZ];
    int ifindex, mtu, path_mtu, failed, offload;
    uint16_t mss;
    uint8_t clear_df, fragment, has_outbound;
    uint32_t outbound_sa;
    struct dp_traffic ctr;
    struct dp_tunnel_extra extra;
    struct dp_probe_snapshot probe;
};

struct dp_snapshot {
    struct dp_global global;
    int udp_gso, udp_gro;
    int tunnel_count;
    struct dp_tunnel_snapshot tunnels[DP_MAX_TUNNELS];
    size_t sa_count;
    struct dp_sa_snapshot sas[];
};

enum dp_cmd_type { DP_CMD_ADD_TUNNEL, DP_CMD_REMOVE_TUNNEL, DP_CMD_SET_TUNNEL, DP_CMD_INSTALL_SA, DP_CMD_REMOVE_SA,
                   DP_CMD_RELEASE_SA, DP_CMD_SET_PROBE,
                   DP_CMD_SNAPSHOT, DP_CMD_STOP };

struct dp_cmd {
    enum dp_cmd_type type;
    struct dp_tunnel_options tunnel;  /* ADD_TUNNEL, SET_TUNNEL (tunnel.tunnel for REMOVE_TUNNEL) */
    struct dp_sa *sa;                 /* INSTALL_SA: ownership passes on success */
    uint32_t sa_id;                   /* REMOVE_SA, RELEASE_SA */
    uint32_t probe_target, probe_interval_ms; /* SET_PROBE (tunnel.tunnel): target 0 = peer, interval 0 = off */
    /* results */
    int status;                       /* enum dp_status */
    int sys_errno;
    char error[256];
    int ifindex;
    struct dp_sa *freed;              /* SAs the caller must sa_destroy() (linked by ->next) */
    struct dp_snapshot *snapshot;     /* SNAPSHOT: caller frees */
    int done;
};

struct dataplane;

struct dataplane *dp_create(const struct dp_options *o, dp_emit_fn emit, void *emit_ctx, int *status, int *sys_errno,
                            char *err, size_t err_len);
/* Runs a command on the packet thread and waits for it. Returns c->status. */
int dp_command(struct dataplane *d, struct dp_cmd *c);
/* Sends one datagram from the data plane's socket (any thread). Returns 0 or an errno value. */
int dp_send_udp(struct dataplane *d, const struct sockaddr_in *to, const uint8_t *data, size_t len, int ike_marker);
struct sockaddr_in dp_local_address(const struct dataplane *d);
int dp_running(const struct dataplane *d);
/* Loop iterations so far (every epoll wakeup or tick, at least every TICK_MS while the thread runs);
 * readable from any thread without waiting for the packet thread. */
uint64_t dp_heartbeat(const struct dataplane *d);
/* With two threads dp_heartbeat is the smaller of the two counts; a watchdog should read each
 * thread's (0: the only or the outbound thread, 1: the inbound one) and want both to move. */
uint64_t dp_heartbeat_of(const struct dataplane *d, int thread);
int dp_threads(const struct dataplane *d);
/* Test hook: the packet thread(s) stop working for `ms` (they sleep; the heartbeats stand still). */
void dp_stall(struct dataplane *d, uint32_t ms);
/* Stops the thread, closes every fd, frees every SA and buffer, then d itself. */
void dp_destroy(struct dataplane *d);

uint64_t dp_now_ms(void);
/* The JavaScript side has taken an IKE event off the queue (any thread): frees its quota slot. */
void dp_ike_consumed(struct dataplane *d, int bucket);

#endif
