/*
 * Inbound: ESP-in-UDP -> TUN, and IKE -> JavaScript, on the packet thread
 * (the inbound one when there are two) when the UDP socket is readable.
 *
 * 1. Receive (udp_readable): one recvmmsg of up to rx_count messages; with
 *    UDP GRO a message may hold many datagrams of one size, cut apart here.
 * 2. Classify (inbound): a 1-byte 0xFF NAT keepalive is counted and dropped;
 *    the 4-byte non-ESP marker means IKE, passed to JavaScript without it
 *    (pass_ike) if it comes from a configured IKE peer and that peer's share
 *    of the queue to JavaScript is not used up; anything else is ESP, its SA
 *    found by SPI.
 * 3. ESP: sa_input decrypts in place and checks replay, ICV, padding, next
 *    header and the inner IPv4 header.
 * 4. Per packet: MSS clamping.
 * 5. TUN write: with TUN offloads, in-order segments of one TCP flow are
 *    joined into one super-packet first (gro.c), written before anything else
 *    goes to a TUN and at the end of the batch; otherwise each packet is
 *    written as it is (tun_write).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "loop_internal.h"

#include <netinet/udp.h>
#include <stdlib.h>

#include "ipv4.h"

/* Which quota an IKE datagram from `from` counts against: a configured peer's index, the shared
 * bucket when no peer is configured, or -1 (not a configured peer: dropped). */
static int ike_bucket(const struct dataplane *d, const struct sockaddr_in *from) {
    if (d->ike_peer_count == 0) return DP_MAX_IKE_PEERS;
    for (int i = 0; i < d->ike_peer_count; i++)
        if (d->ike_peers[i] == from->sin_addr.s_addr) return i;
    return -1;
}

static void pass_ike(struct dataplane *d, const uint8_t *p, size_t len, const struct sockaddr_in *from) {
    int bucket = ike_bucket(d, from);
    if (bucket < 0) {
        /* Before any copy or allocation: a flood from elsewhere costs a compare per datagram. */
        drop_in(d, NULL, NULL, DROP_IKE_FILTERED);
        d->gin.ike_filtered++;
        return;
    }
    if (__atomic_load_n(&d->ike_queued[bucket], __ATOMIC_RELAXED) >= d->ike_quota) {
        drop_in(d, NULL, NULL, DROP_QUEUE_FULL);
        d->gin.ike_dropped++;
        return;
    }
    struct dp_event *ev = malloc(sizeof(*ev) + len);
    if (!ev) {
        drop_in(d, NULL, NULL, DROP_QUEUE_FULL);
        d->gin.ike_dropped++;
        return;
    }
    memset(ev, 0, sizeof(*ev));
    ev->type = DP_EV_IKE;
    ev->from = *from;
    ev->ike_bucket = bucket;
    ev->len = len;
    memcpy(ev->data, p, len);
    __atomic_fetch_add(&d->ike_queued[bucket], 1, __ATOMIC_RELAXED);
    if (d->emit(d->emit_ctx, ev) != 0) {
        __atomic_fetch_sub(&d->ike_queued[bucket], 1, __ATOMIC_RELAXED);
        free(ev);
        drop_in(d, NULL, NULL, DROP_QUEUE_FULL);
        d->gin.ike_dropped++;
        return;
    }
    d->gin.ike_in++;
}

static inline uint32_t rd32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void inbound(struct dataplane *d, uint8_t *p, size_t len, int truncated, const struct sockaddr_in *from) {
    d->gin.udp_datagrams_in++;
    if (truncated) {
        drop_in(d, NULL, NULL, DROP_MALFORMED);
        return;
    }
    if (len == 1 && p[0] == 0xff) {
        d->gin.keepalives_in++;
        return;
    }
    if (len < 4) {
        drop_in(d, NULL, NULL, DROP_MALFORMED);
        return;
    }
    uint32_t spi = rd32(p);
    if (spi == 0) {
        pass_ike(d, p + 4, len - 4, from);
        return;
    }
    d->gin.esp_in++;
    struct dp_sa *sa = sa_table_lookup(&d->sas, spi);
    if (!sa) {
        drop_in(d, NULL, NULL, DROP_NO_SA);
        return;
    }
    struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
    uint8_t *inner;
    size_t inner_len;
    enum dp_drop why;
    if (sa_input(sa, p, len, &inner, &inner_len, &why) != 0) {
        drop_in(d, t, sa, why);
        return;
    }
    if (!t || tunnel_failed(t)) {
        drop_in(d, t, sa, DROP_TUN_WRITE);
        return;
    }
    if (probe_inbound(d, t, inner, inner_len)) return; /* our keepalive's echo reply: not for the TUN */
    if (t->o.mss && ipv4_clamp_mss(inner, inner_len, t->o.mss)) t->extra_in.mss_clamped++;
    if (t->vnet && gro_offer(d, t, inner, inner_len)) return;
    gro_flush(d); /* keep the order */
    if (tun_write(t, inner, inner_len) != 0) {
        drop_in(d, t, sa, DROP_TUN_WRITE);
        return;
    }
    bump_shared(&t->ctr_in.packets_in, 1); /* read by the probe timer (outbound thread) */
    t->ctr_in.bytes_in += inner_len;
}

static int gro_segment_size(struct msghdr *h) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int size;
            memcpy(&size, CMSG_DATA(c), sizeof(size));
            return size;
        }
    }
    return 0;
}

void udp_readable(struct dataplane *d) {
    for (int i = 0; i < d->rx_count; i++) {
        struct msghdr *h = &d->rx_msgs[i].msg_hdr;
        h->msg_namelen = sizeof(struct sockaddr_in);
        h->msg_flags = 0;
        if (d->udp_gro) {
            h->msg_control = d->rx_ctrl + (size_t)i * CTRL_SIZE;
            h->msg_controllen = CTRL_SIZE;
        }
    }
    int n = recvmmsg(d->udp_fd, d->rx_msgs, (unsigned)d->rx_count, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &d->rx_msgs[i].msg_hdr;
        uint8_t *p = rx_slot(d, i);
        size_t len = d->rx_msgs[i].msg_len;
        int truncated = (h->msg_flags & MSG_TRUNC) != 0;
        int seg = d->udp_gro ? gro_segment_size(h) : 0;
        if (seg > 0 && (size_t)seg < len && !truncated) {
            /* Several datagrams the kernel coalesced (UDP GRO): equal size, the last maybe shorter. */
            d->gin.udp_gro_receives++;
            for (size_t off = 0; off < len; off += (size_t)seg) {
                size_t l = len - off < (size_t)seg ? len - off : (size_t)seg;
                inbound(d, p + off, l, 0, &d->rx_addr[i]);
            }
        } else {
            inbound(d, p, len, truncated, &d->rx_addr[i]);
        }
    }
    gro_flush(d);
}
