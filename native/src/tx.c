/*
 * Outbound: TUN -> ESP-in-UDP, on the packet thread (the outbound one when
 * there are two) when a TUN is readable.
 *
 * 1. Read (tun_readable): up to `batch` reads per wake-up. A plain read lands
 *    in a free transmit slot at ESP_PREFIX, so encryption happens in place.
 * 2. TUN offloads (tun_offloaded): with a virtio_net_hdr in front, a read may
 *    be a 64 KB TCP super-packet, split into slots here (TSO), or carry an
 *    unfinished checksum, finished here.
 * 3. Per packet (outbound): IPv4 only; the tunnel's newest live SA; MSS
 *    clamping, DF clearing; beyond the SA's path budget, ICMP "fragmentation
 *    needed" when DF is set, else fragments (fragment_and_queue), each in a
 *    slot of its own, or the packet whole when fragmenting is off.
 * 4. ESP (encap_and_queue): sa_output in the slot, queued for the SA's peer.
 * 5. Send (flush_tx): one sendmmsg per batch, or sooner when the slots run
 *    out; with UDP GSO, runs of equal-size datagrams to one peer go as one
 *    message each (build_messages). A full socket buffer gets a short wait,
 *    then what is left is dropped.
 *
 * Each function comes before its callers, so the steps read bottom-up.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "loop_internal.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "ipv4.h"
#include "tun.h"

#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

static inline int same_destination(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* Groups the queued datagrams into messages: with UDP GSO, a run of datagrams
 * to one destination, all of one size except a shorter last one, becomes one
 * message with UDP_SEGMENT (the kernel cuts it up, after one pass through the
 * stack). Returns the number of messages. */
static int build_messages(struct dataplane *d, int from) {
    int m = 0;
    for (int i = from; i < d->tx_count;) {
        size_t seg = d->tx_iov[i].iov_len;
        int j = i + 1;
        if (d->udp_gso) {
            struct dp_tunnel *t = tunnel_by_id(d, d->tx_tunnel[i]);
            size_t total = seg, limit = t ? (size_t)t->o.path_mtu : 1500;
            if (seg + 28 <= limit) {
                while (j < d->tx_count && j - i < GSO_MAX_SEGMENTS && same_destination(&d->tx_addr[i], &d->tx_addr[j])) {
                    size_t len = d->tx_iov[j].iov_len;
                    if (len > seg || total + len > GSO_MAX_BYTES) break;
                    total += len;
                    j++;
                    if (len < seg) break;
                }
            }
        }
        struct msghdr *h = &d->gso_msgs[m].msg_hdr;
        h->msg_name = &d->tx_addr[i];
        h->msg_namelen = sizeof(struct sockaddr_in);
        h->msg_iov = &d->tx_iov[i];
        h->msg_iovlen = (size_t)(j - i);
        h->msg_flags = 0;
        if (j - i > 1) {
            uint8_t *ctrl = d->gso_ctrl + (size_t)m * CTRL_SIZE;
            memset(ctrl, 0, CTRL_SIZE);
            h->msg_control = ctrl;
            h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gso = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &gso, sizeof(gso));
        } else {
            h->msg_control = NULL;
            h->msg_controllen = 0;
        }
        d->gso_first[m] = i;
        d->gso_count[m] = j - i;
        m++;
        i = j;
    }
    return m;
}

static void drop_queued(struct dataplane *d, int first, int count, enum dp_drop why) {
    for (int k = first; k < first + count; k++) drop_out(d, tunnel_by_id(d, d->tx_tunnel[k]), NULL, why);
}

static void flush_tx(struct dataplane *d) {
    int messages = build_messages(d, 0);
    int sent = 0, waited = 0;
    while (sent < messages) {
        int r = sendmmsg(d->udp_fd, d->gso_msgs + sent, (unsigned)(messages - sent), 0);
        if (r > 0) {
            for (int k = sent; k < sent + r; k++) {
                d->gout.udp_datagrams_out += (uint64_t)d->gso_count[k];
                if (d->gso_count[k] > 1) d->gout.udp_gso_sends++;
            }
            sent += r;
            continue;
        }
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == ENOBUFS) {
            if (!waited) {
                /* Socket buffer full: wait briefly (backpressure), then drop what is left. */
                struct pollfd p = {.fd = d->udp_fd, .events = POLLOUT};
                poll(&p, 1, 5);
                waited = 1;
                continue;
            }
            for (; sent < messages; sent++) drop_queued(d, d->gso_first[sent], d->gso_count[sent], DROP_QUEUE_FULL);
            break;
        }
        if (d->gso_count[sent] > 1 && (e == EIO || e == EINVAL || e == EMSGSIZE || e == EOPNOTSUPP)) {
            /* The path cannot take GSO (EIO: no checksum offload on the egress
             * device): stop using it and send what is left one by one. */
            if (e == EIO || e == EOPNOTSUPP) d->udp_gso = 0;
            int first = d->gso_first[sent];
            int saved = d->udp_gso;
            d->udp_gso = 0;
            messages = build_messages(d, first);
            d->udp_gso = saved;
            sent = 0;
            continue;
        }
        /* This message failed (ENETUNREACH, EMSGSIZE, ...): count it, go on with the rest. */
        drop_queued(d, d->gso_first[sent], d->gso_count[sent], DROP_UDP_SEND);
        sent++;
    }
    d->tx_count = 0;
}

/* Encrypts the inner packet at tx slot d->tx_count (at ESP_PREFIX) and queues it. */
static void encap_and_queue(struct dataplane *d, struct dp_tunnel *t, struct dp_sa *sa, size_t len) {
    int i = d->tx_count;
    uint8_t *esp;
    size_t esp_len;
    enum dp_drop why;
    if (sa_output(sa, &d->ivs, tx_slot(d, i), len, &esp, &esp_len, &why) != 0) {
        drop_out(d, t, sa, why);
        return;
    }
    d->tx_iov[i].iov_base = esp;
    d->tx_iov[i].iov_len = esp_len;
    d->tx_addr[i] = sa->remote;
    d->tx_tunnel[i] = t->o.tunnel;
    d->tx_count++;
    t->ctr.packets_out++;
    t->ctr.bytes_out += len;
}

static void send_frag_needed(struct dataplane *d, struct dp_tunnel *t, const uint8_t *ip, size_t len, size_t budget) {
    uint8_t *out = d->icmp + TUN_VNET_HDR_LEN;
    size_t n = ipv4_frag_needed(ip, len, t->o.peer, (uint16_t)budget, ++d->icmp_id, out);
    if (n == 0) return;
    if (tun_write(t, out, n) == 0) t->extra.icmp_frag_needed++;
}

static void fragment_and_queue(struct dataplane *d, struct dp_tunnel *t, struct dp_sa *sa, const uint8_t *ip,
                               size_t total, size_t budget) {
    memcpy(d->scratch, ip, total);
    struct ipv4_frag_iter it;
    if (ipv4_frag_begin(&it, d->scratch, total, budget) != 0) {
        drop_out(d, t, sa, DROP_MTU);
        return;
    }
    t->extra.fragmented++;
    for (;;) {
        if (d->tx_count == d->batch) flush_tx(d);
        size_t n = ipv4_frag_next(&it, tx_slot(d, d->tx_count) + ESP_PREFIX);
        if (n == 0) break;
        t->extra.fragments_out++;
        encap_and_queue(d, t, sa, n);
    }
}

/* The packet just read sits in tx slot d->tx_count at ESP_PREFIX. */
static void outbound(struct dataplane *d, struct dp_tunnel *t, size_t n) {
    uint8_t *ip = tx_slot(d, d->tx_count) + ESP_PREFIX;
    if ((ip[0] >> 4) != 4) {
        drop_out(d, t, NULL, DROP_NOT_IPV4);
        return;
    }
    size_t total = ipv4_total_length(ip, n);
    if (!total) {
        drop_out(d, t, NULL, DROP_MALFORMED);
        return;
    }
    struct dp_sa *sa = t->out;
    if (sa && sa_dead(sa)) sa = t->out = sa_table_newest(&d->sas, t->o.tunnel);
    if (!sa) {
        drop_out(d, t, NULL, DROP_NO_OUTBOUND_SA);
        return;
    }
    if (t->o.mss && ipv4_clamp_mss(ip, total, t->o.mss)) t->extra.mss_clamped++;
    if (t->o.clear_df && ipv4_clear_df(ip)) t->extra.df_cleared++;
    size_t budget = esp_max_inner(&sa->suite, (size_t)t->o.path_mtu);
    if (total > budget) {
        if (ipv4_df(ip)) {
            send_frag_needed(d, t, ip, total, budget);
            drop_out(d, t, sa, DROP_MTU);
            return;
        }
        if (t->o.fragment) {
            fragment_and_queue(d, t, sa, ip, total, budget);
            return;
        }
        /* Not allowed to fragment the inner packet: send it whole (the outer datagram gets fragmented). */
    }
    encap_and_queue(d, t, sa, total);
}

static void tun_failed(struct dataplane *d, struct dp_tunnel *t, int err) {
    char message[160];
    snprintf(message, sizeof(message), "TUN %s: %s; tunnel %d stopped reading", t->o.ifname, strerror(err),
             t->o.tunnel);
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, t->fd, NULL);
    __atomic_store_n(&t->failed, 1, __ATOMIC_RELAXED);
    emit_error(d, t->o.tunnel, message);
}

/* A UDP super-packet (TUN USO on: a local sender's UDP_SEGMENT, or datagrams the
 * kernel joined on the way in) back into datagrams of gso bytes of payload, each
 * with its own IP header (ID counting up from the first) and full checksums. */
static void uso_split(struct dataplane *d, struct dp_tunnel *t, const uint8_t *pkt, size_t len, size_t gso) {
    if (len <= 28 || pkt[0] != 0x45 || pkt[9] != 17 || gso == 0 || gso > DP_MAX_PKT - 28) {
        drop_out(d, t, NULL, DROP_MALFORMED);
        return;
    }
    uint16_t id = (uint16_t)((pkt[4] << 8) | pkt[5]);
    for (size_t off = 28; off < len; off += gso, id++) {
        size_t n = len - off < gso ? len - off : gso, total = 28 + n;
        if (d->tx_count == d->batch) flush_tx(d);
        uint8_t *o = tx_slot(d, d->tx_count) + ESP_PREFIX;
        memcpy(o, pkt, 28);
        memcpy(o + 28, pkt + off, n);
        o[2] = (uint8_t)(total >> 8), o[3] = (uint8_t)total;
        o[4] = (uint8_t)(id >> 8), o[5] = (uint8_t)id;
        o[10] = o[11] = 0;
        uint16_t ipc = inet_checksum(o, 20);
        o[10] = (uint8_t)(ipc >> 8), o[11] = (uint8_t)ipc;
        o[24] = (uint8_t)((8 + n) >> 8), o[25] = (uint8_t)(8 + n);
        uint32_t sum = 17u + (uint32_t)(8 + n);
        for (int k = 12; k < 20; k += 2) sum += (uint32_t)((o[k] << 8) | o[k + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        o[26] = (uint8_t)(sum >> 8), o[27] = (uint8_t)sum;
        l4_checksum_finish(o, total, 20, 6);
        if (o[26] == 0 && o[27] == 0) o[26] = o[27] = 0xff; /* UDP sends a computed 0 as all ones (RFC 768) */
        outbound(d, t, total);
    }
}

/* A packet read with a virtio_net_hdr in front: finish a partial checksum,
 * or split a TCP or UDP super-packet, into transmit slots for outbound(). */
static void tun_offloaded(struct dataplane *d, struct dp_tunnel *t, uint8_t *buf, size_t n) {
    if (n < TUN_VNET_HDR_LEN) return;
    struct virtio_net_hdr h;
    memcpy(&h, buf, sizeof(h));
    uint8_t *pkt = buf + TUN_VNET_HDR_LEN;
    size_t len = n - TUN_VNET_HDR_LEN;
    uint8_t gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (gso == VIRTIO_NET_HDR_GSO_NONE) {
        if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && l4_checksum_finish(pkt, len, h.csum_start, h.csum_offset) != 0) {
            drop_out(d, t, NULL, DROP_MALFORMED);
            return;
        }
        if (len > DP_MAX_PKT) {
            drop_out(d, t, NULL, DROP_MALFORMED);
            return;
        }
        if (d->tx_count == d->batch) flush_tx(d);
        memcpy(tx_slot(d, d->tx_count) + ESP_PREFIX, pkt, len);
        outbound(d, t, len);
        return;
    }
    if (gso == VIRTIO_NET_HDR_GSO_UDP_L4) {
        uso_split(d, t, pkt, len, h.gso_size);
        return;
    }
    struct tso_iter it;
    if (gso != VIRTIO_NET_HDR_GSO_TCPV4 || h.gso_size == 0 || h.gso_size > DP_MAX_PKT - 120 ||
        tso_begin(&it, pkt, len, h.gso_size) != 0) {
        drop_out(d, t, NULL, DROP_MALFORMED);
        return;
    }
    t->extra.tso_packets++;
    for (;;) {
        if (d->tx_count == d->batch) flush_tx(d);
        size_t seg = tso_next(&it, tx_slot(d, d->tx_count) + ESP_PREFIX);
        if (seg == 0) break;
        outbound(d, t, seg);
    }
}

int tx_inject(struct dataplane *d, struct dp_tunnel *t, const uint8_t *pkt, size_t len) {
    if (len > DP_MAX_PKT) return -1;
    if (d->tx_count == d->batch) flush_tx(d);
    int before = d->tx_count;
    memcpy(tx_slot(d, d->tx_count) + ESP_PREFIX, pkt, len);
    outbound(d, t, len);
    int queued = d->tx_count > before;
    flush_tx(d);
    return queued ? 0 : -1;
}

void tun_readable(struct dataplane *d, struct dp_tunnel *t) {
    for (int k = 0; k < d->batch; k++) {
        if (d->tx_count == d->batch) flush_tx(d);
        uint8_t *into = t->vnet ? d->tun_buf : tx_slot(d, d->tx_count) + ESP_PREFIX;
        ssize_t n = read(t->fd, into, t->vnet ? TUN_BUF_SIZE : DP_MAX_PKT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) tun_failed(d, t, errno);
            break;
        }
        if (n == 0) break;
        d->gout.tun_packets_in++;
        if (t->vnet)
            tun_offloaded(d, t, d->tun_buf, (size_t)n);
        else
            outbound(d, t, (size_t)n);
    }
    flush_tx(d);
}
