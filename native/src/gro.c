/*
 * TCP coalescing into the TUN (GRO).
 *
 * With vnet headers, consecutive in-order segments of one TCP flow (same
 * addresses, ports, ack, options; ACK with at most PSH on the last) are joined
 * into one super-packet written with VIRTIO_NET_HDR_GSO_TCPV4, so the
 * receiving TCP stack does one pass per 64 KB instead of one per segment.
 * Each segment's checksum is verified before it may join, since the kernel
 * will not check the joined packet's. Anything else flushes first (order kept).
 *
 * With UDP segmentation offload on the TUN (vnet 2), consecutive datagrams of
 * one UDP flow (same addresses, ports, TOS, TTL, DF; equal payload size, the
 * last maybe shorter; checksums present and valid) are joined the same way and
 * written with VIRTIO_NET_HDR_GSO_UDP_L4: the kernel routes and forwards the
 * run once and splits it into the original datagrams where it leaves (or at
 * the receiving socket). The per-packet cost of the TUN write, which is most
 * of the receive side's cost, is then paid once per run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "loop_internal.h"

#include <linux/virtio_net.h>

#include "ipv4.h"
#include "tun.h"

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

/* A segment that may start or join a coalesced packet: plain IPv4 (no options,
 * not a fragment), TCP with ACK and only PSH besides, a payload, a valid checksum. */
static int gro_candidate(const uint8_t *p, size_t len, size_t *thl) {
    if (len < 40 || p[0] != 0x45 || p[9] != 6) return 0;
    if (rd16(p + 6) & (IPV4_MF | IPV4_OFFSET_MASK)) return 0;
    const uint8_t *tcp = p + 20;
    size_t h = (size_t)(tcp[12] >> 4) * 4;
    if (h < 20 || 20 + h >= len) return 0;
    if ((tcp[13] & ~0x08) != 0x10) return 0; /* ACK, optionally PSH; nothing else */
    if (!ipv4_tcp_checksum_valid(p, len)) return 0;
    *thl = h;
    return 1;
}

/* A new coalesced packet from this one (the previous one, if any, goes out first). */
static void gro_start(struct dataplane *d, const struct dp_tunnel *t, const uint8_t *p, size_t len, int udp, size_t hlen) {
    gro_flush(d);
    memcpy(d->gro.buf + TUN_VNET_HDR_LEN, p, len);
    d->gro.tunnel = t->o.tunnel;
    d->gro.udp = udp;
    d->gro.len = len;
    d->gro.bytes = len;
    d->gro.ihl = 20;
    d->gro.hlen = hlen;
    d->gro.seg = len - hlen;
    d->gro.count = 1;
    d->gro.closed = 0;
}

/* A datagram that may start or join a UDP run: plain IPv4 (no options, not a
 * fragment), UDP whose length matches, a payload, a checksum present and valid. */
static int uso_candidate(const uint8_t *p, size_t len) {
    if (len <= 28 || p[0] != 0x45 || p[9] != 17) return 0;
    if (rd16(p + 6) & (IPV4_MF | IPV4_OFFSET_MASK)) return 0;
    if (rd16(p + 2) != len || rd16(p + 24) != len - 20 || rd16(p + 26) == 0) return 0;
    uint32_t sum = 17u + (uint32_t)(len - 20);
    for (size_t k = 12; k < 20; k += 2) sum += rd16(p + k);
    for (size_t k = 20; k + 1 < len; k += 2) sum += rd16(p + k);
    if (len & 1) sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

void gro_flush(struct dataplane *d) {
    if (!d->gro.tunnel) return;
    struct dp_tunnel *t = tunnel_by_id(d, d->gro.tunnel);
    int count = d->gro.count;
    size_t bytes = d->gro.bytes;
    d->gro.tunnel = 0;
    if (!t || tunnel_failed(t)) {
        for (int k = 0; k < count; k++) drop_in(d, t, NULL, DROP_TUN_WRITE);
        return;
    }
    uint8_t *pkt = d->gro.buf + TUN_VNET_HDR_LEN;
    size_t len = d->gro.len;
    struct virtio_net_hdr h;
    memset(&h, 0, sizeof(h));
    if (count > 1 && d->gro.udp) {
        pkt[2] = (uint8_t)(len >> 8);
        pkt[3] = (uint8_t)len;
        pkt[10] = pkt[11] = 0;
        uint16_t ipc = inet_checksum(pkt, 20);
        pkt[10] = (uint8_t)(ipc >> 8);
        pkt[11] = (uint8_t)ipc;
        pkt[24] = (uint8_t)((len - 20) >> 8);
        pkt[25] = (uint8_t)(len - 20);
        /* Partial checksum: the pseudo-header sum; the kernel fixes the length per datagram. */
        uint32_t sum = 17u + (uint32_t)(len - 20);
        for (int k = 12; k < 20; k += 2) sum += (uint32_t)((pkt[k] << 8) | pkt[k + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        pkt[26] = (uint8_t)(sum >> 8);
        pkt[27] = (uint8_t)sum;
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
        h.hdr_len = 28;
        h.gso_size = (uint16_t)d->gro.seg;
        h.csum_start = 20;
        h.csum_offset = 6;
    } else if (count > 1) {
        pkt[2] = (uint8_t)(len >> 8);
        pkt[3] = (uint8_t)len;
        pkt[10] = pkt[11] = 0;
        uint16_t ipc = inet_checksum(pkt, 20);
        pkt[10] = (uint8_t)(ipc >> 8);
        pkt[11] = (uint8_t)ipc;
        /* Partial checksum: the field holds the pseudo-header sum; the kernel adds the rest. */
        uint32_t sum = 6u + (uint32_t)(len - 20);
        for (int k = 12; k < 20; k += 2) sum += (uint32_t)((pkt[k] << 8) | pkt[k + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        pkt[20 + 16] = (uint8_t)(sum >> 8);
        pkt[20 + 17] = (uint8_t)sum;
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        h.hdr_len = (uint16_t)d->gro.hlen;
        h.gso_size = (uint16_t)d->gro.seg;
        h.csum_start = 20;
        h.csum_offset = 16;
    }
    memcpy(d->gro.buf, &h, sizeof(h));
    if (write(t->fd, d->gro.buf, TUN_VNET_HDR_LEN + len) != (ssize_t)(TUN_VNET_HDR_LEN + len)) {
        for (int k = 0; k < count; k++) drop_in(d, t, NULL, DROP_TUN_WRITE);
        return;
    }
    bump_shared(&t->ctr_in.packets_in, (uint64_t)count);
    t->ctr_in.bytes_in += bytes;
    if (count > 1) t->extra_in.gro_packets++;
}

static int uso_offer(struct dataplane *d, struct dp_tunnel *t, const uint8_t *p, size_t len) {
    if (t->vnet != 2 || !uso_candidate(p, len)) return 0;
    size_t payload = len - 28;
    uint8_t *g = d->gro.buf + TUN_VNET_HDR_LEN;
    if (d->gro.tunnel == t->o.tunnel && d->gro.udp && !d->gro.closed && payload <= d->gro.seg &&
        d->gro.len + payload <= 65535 && d->gro.count < 64 && rd16(p + 6) == rd16(g + 6) /* DF */ &&
        p[1] == g[1] && p[8] == g[8] && !memcmp(p + 12, g + 12, 12) /* TOS, TTL, addresses, ports */) {
        memcpy(g + d->gro.len, p + 28, payload);
        d->gro.len += payload;
        d->gro.bytes += len;
        d->gro.count++;
        if (payload < d->gro.seg) d->gro.closed = 1;
        return 1;
    }
    gro_start(d, t, p, len, 1, 28);
    return 1;
}

/* 1 when the packet was taken (joined or started a coalesced packet). */
int gro_offer(struct dataplane *d, struct dp_tunnel *t, const uint8_t *p, size_t len) {
    size_t thl;
    if (!gro_candidate(p, len, &thl)) return uso_offer(d, t, p, len);
    size_t hlen = 20 + thl, payload = len - hlen;
    uint8_t *g = d->gro.buf + TUN_VNET_HDR_LEN;
    if (d->gro.tunnel == t->o.tunnel && !d->gro.udp && !d->gro.closed && d->gro.hlen == hlen && payload <= d->gro.seg &&
        d->gro.len + payload <= 65535 && d->gro.count < 64 && rd16(p + 6) == rd16(g + 6) /* DF */ &&
        p[1] == g[1] && p[8] == g[8] && !memcmp(p + 12, g + 12, 8) && /* TOS, TTL, addresses */
        !memcmp(p + 20, g + 20, 4) && !memcmp(p + 28, g + 28, 4) && /* ports, ack */
        !memcmp(p + 40, g + 40, thl - 20) && /* options */
        ((uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27]) == d->gro.next_seq) {
        memcpy(g + d->gro.len, p + hlen, payload);
        d->gro.len += payload;
        d->gro.bytes += len;
        d->gro.next_seq += (uint32_t)payload;
        d->gro.count++;
        g[33] |= (uint8_t)(p[33] & 0x08); /* PSH of the last segment */
        memcpy(g + 34, p + 34, 2);        /* its window */
        if (payload < d->gro.seg || (p[33] & 0x08)) d->gro.closed = 1;
        return 1;
    }
    gro_start(d, t, p, len, 0, hlen);
    d->gro.next_seq = ((uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27]) + (uint32_t)payload;
    d->gro.count = 1;
    d->gro.closed = (p[33] & 0x08) != 0;
    return 1;
}
