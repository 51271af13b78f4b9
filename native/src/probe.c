/*
 * Keepalive probes generated and answered in the data plane: see probe.h.
 *
 * Flow per tunnel, all on the packet thread:
 *   timer due (probe_run, from the loop) -> the previous probe still pending?
 *     report it lost (with the packets decrypted since it left) -> build an
 *     ICMP echo request (RFC 792: type 8, our id, seq + 1) -> tx_inject: the
 *     same outbound path as a TUN packet (SA choice, ESP, sendmmsg).
 *   decrypted inner packet (probe_inbound, from rx.c) -> IPv4 ICMP echo reply
 *     (type 0) from the target to our inside address with our id? consume it;
 *     the pending seq: report its round trip; an older seq: count it late.
 * Any other decrypted packet refreshes last_inbound_ms (read in snapshots).
 *
 * With two packet threads the timer side runs on the outbound thread and the
 * reply side on the inbound one. They meet in p->outstanding, the probe in
 * flight (seq | PROBE_OUTSTANDING) or 0: the sender stores sent_us and
 * inbound_at_send, then publishes outstanding (release); when the next one is
 * due it takes the word back (exchange with 0) and, if it still held the old
 * probe, reports it lost. A reply reads outstanding (acquire), then sent_us
 * and inbound_at_send, then claims the probe with a compare-and-swap to 0:
 * whichever side swaps first owns the outcome, so a probe is answered or lost,
 * never both, and the values the reply side read belong to that probe (the
 * sender rewrites them only after its exchange, which makes the swap fail).
 * With one thread the same code runs on one thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "probe.h"

#include <stdlib.h>
#include <time.h>

#include "ipv4.h"
#include "loop_internal.h"

#define IPPROTO_ICMP_NUM 1     /* RFC 790 */
#define ICMP_ECHO_REPLY 0      /* RFC 792 */
#define ICMP_ECHO_REQUEST 8    /* RFC 792 */
#define PROBE_TTL 64
#define PROBE_LEN (20 + 8 + PROBE_PAYLOAD)

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

void probe_configure(struct dataplane *d, struct dp_tunnel *t, uint32_t target, uint32_t interval_ms) {
    struct dp_probe *p = &t->probe;
    if (interval_ms == 0) {
        p->on = 0;
        __atomic_store_n(&p->outstanding, 0, __ATOMIC_RELAXED);
        return;
    }
    if (!p->on) {
        /* An identifier of our own per tunnel, so replies to anyone else's pings stay theirs. */
        p->id = (uint16_t)((now_us() * 2654435761u) >> 16) ^ (uint16_t)(t->o.tunnel << 12);
        __atomic_store_n(&p->outstanding, 0, __ATOMIC_RELAXED);
        p->next_due_ms = dp_now_ms(); /* the first probe at once */
    } else if (p->next_due_ms > dp_now_ms() + interval_ms) {
        p->next_due_ms = dp_now_ms() + interval_ms;
    }
    (void)d;
    p->on = 1;
    p->target = target ? target : t->o.peer;
    p->interval_ms = interval_ms;
}

static void report(struct dataplane *d, struct dp_tunnel *t, uint16_t seq, int64_t rtt_us, uint64_t inbound) {
    struct dp_event *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        event_dropped(d);
        return;
    }
    ev->type = DP_EV_PROBE;
    ev->tunnel = t->o.tunnel;
    ev->seq = seq;
    ev->rtt_us = rtt_us;
    ev->inbound = inbound;
    if (d->emit(d->emit_ctx, ev) != 0) {
        free(ev);
        event_dropped(d);
    }
}

static size_t build_echo(const struct dp_tunnel *t, const struct dp_probe *p, uint8_t *out) {
    memset(out, 0, PROBE_LEN);
    out[0] = 0x45;
    put16(out + 2, PROBE_LEN);
    put16(out + 4, p->seq); /* IP identification */
    out[8] = PROBE_TTL;
    out[9] = IPPROTO_ICMP_NUM;
    memcpy(out + 12, &t->o.address, 4);
    memcpy(out + 16, &p->target, 4);
    put16(out + 10, inet_checksum(out, 20));
    uint8_t *icmp = out + 20;
    icmp[0] = ICMP_ECHO_REQUEST;
    put16(icmp + 4, p->id);
    put16(icmp + 6, p->seq);
    memcpy(icmp + 8, "cgwd", 4);
    icmp[12] = (uint8_t)t->o.tunnel;
    put16(icmp + 2, inet_checksum(icmp, 8 + PROBE_PAYLOAD));
    return PROBE_LEN;
}

static void send_probe(struct dataplane *d, struct dp_tunnel *t, uint64_t now_ms) {
    struct dp_probe *p = &t->probe;
    uint64_t packets_in = __atomic_load_n(&t->ctr_in.packets_in, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&p->outstanding, 0, __ATOMIC_ACQ_REL) != 0) {
        p->lost++;
        report(d, t, p->seq, -1, packets_in - __atomic_load_n(&p->inbound_at_send, __ATOMIC_RELAXED));
    }
    p->seq++;
    uint8_t pkt[PROBE_LEN];
    size_t n = build_echo(t, p, pkt);
    __atomic_store_n(&p->sent_us, now_us(), __ATOMIC_RELAXED);
    __atomic_store_n(&p->inbound_at_send, packets_in, __ATOMIC_RELAXED);
    /* Published before it leaves: a reply can come back before tx_inject returns. */
    __atomic_store_n(&p->outstanding, (uint32_t)p->seq | PROBE_OUTSTANDING, __ATOMIC_RELEASE);
    p->sent++;
    if (tx_inject(d, t, pkt, n) != 0) p->send_failed++;
    p->next_due_ms = now_ms + p->interval_ms;
}

int probe_run(struct dataplane *d, uint64_t now_ms, int cap) {
    int wait = cap;
    for (int i = 1; i <= DP_MAX_TUNNELS; i++) {
        struct dp_tunnel *t = &d->tunnels[i];
        if (!t->used || !t->probe.on) continue;
        if (now_ms >= t->probe.next_due_ms) send_probe(d, t, now_ms);
        uint64_t left = t->probe.next_due_ms > now_ms ? t->probe.next_due_ms - now_ms : 0;
        if ((int)left < wait) wait = (int)left;
    }
    return wait;
}

int probe_inbound(struct dataplane *d, struct dp_tunnel *t, const uint8_t *ip, size_t len) {
    struct dp_probe *p = &t->probe;
    /* Only ICMP echo replies are ours to look at; everything else is traffic (proof of life). */
    size_t hl = (size_t)(ip[0] & 0x0f) * 4;
    if (!p->on || len < hl + 8 || hl < 20 || ip[9] != IPPROTO_ICMP_NUM || (get16(ip + 6) & 0x3fff) != 0 ||
        ip[hl] != ICMP_ECHO_REPLY || get16(ip + hl + 4) != p->id || memcmp(ip + 12, &p->target, 4) != 0 ||
        memcmp(ip + 16, &t->o.address, 4) != 0) {
        t->last_inbound_ms = dp_now_ms();
        return 0;
    }
    uint16_t seq = get16(ip + hl + 6);
    uint32_t want = (uint32_t)seq | PROBE_OUTSTANDING;
    uint32_t now_out = __atomic_load_n(&p->outstanding, __ATOMIC_ACQUIRE);
    if (now_out == want) {
        uint64_t sent_us = __atomic_load_n(&p->sent_us, __ATOMIC_RELAXED);
        uint64_t at_send = __atomic_load_n(&p->inbound_at_send, __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&p->outstanding, &now_out, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            p->answered++;
            uint64_t rtt = now_us() - sent_us;
            p->last_rtt_us = rtt;
            t->last_inbound_ms = dp_now_ms();
            report(d, t, seq, (int64_t)rtt, t->ctr_in.packets_in - at_send);
            return 1;
        }
    }
    p->late++;
    return 1;
}
