/*
 * Keepalive probes in the data plane (probe.c): per tunnel, an ICMP echo
 * request (RFC 792) from the customer inside address to the AWS inside
 * address (or a configured target), sent through the tunnel's outbound SA on
 * a timer of the packet thread, exactly as a packet read from the TUN would
 * be. An echo reply to our identifier is consumed on the way in (never
 * written to the TUN) and reported to JavaScript with its round trip; a
 * probe still unanswered when the next one is due is reported lost, with the
 * number of other packets the tunnel decrypted meanwhile (proof of life).
 */
#ifndef CGWD_PROBE_H
#define CGWD_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_MIN_INTERVAL_MS 10
#define PROBE_MAX_INTERVAL_MS 3600000 /* keepalive.intervalSeconds up to 3600 */
#define PROBE_PAYLOAD 16 /* "cgwd" + tunnel + 11 bytes zero: 44-byte packets */

/* The probe in flight, in one word both packet threads may touch: seq | PROBE_OUTSTANDING, or 0. */
#define PROBE_OUTSTANDING 0x10000u

/* Configuration: commands. sent_us, inbound_at_send: the outbound thread writes them before
 * publishing `outstanding` (release); the inbound thread reads them after seeing it (acquire)
 * and keeps them only if it then wins `outstanding` (compare-and-swap to 0). */
struct dp_probe {
    int on;
    uint32_t target;       /* network order */
    uint16_t id, seq;      /* seq: the last one sent (outbound thread) */
    uint32_t interval_ms;
    uint64_t next_due_ms;
    uint32_t outstanding;  /* __atomic */
    uint64_t sent_us;      /* when seq was sent (__atomic) */
    uint64_t inbound_at_send; /* the tunnel's packets_in when seq was sent (__atomic) */
    /* counters (snapshot): sent, lost, send_failed by the outbound thread; answered, late,
     * last_rtt_us by the inbound thread */
    uint64_t sent, answered, lost, late, send_failed;
    uint64_t last_rtt_us;
};

struct dataplane;
struct dp_tunnel;

/* Starts (interval_ms > 0) or stops probes on a tunnel; target 0 means the tunnel's peer. */
void probe_configure(struct dataplane *d, struct dp_tunnel *t, uint32_t target, uint32_t interval_ms);
/* Sends the probes that are due; returns the ms until the next one is (or `cap`). */
int probe_run(struct dataplane *d, uint64_t now_ms, int cap);
/* Inbound hook, after decryption: 1 when the packet was our echo reply (consumed), else 0. */
int probe_inbound(struct dataplane *d, struct dp_tunnel *t, const uint8_t *ip, size_t len);

#endif
