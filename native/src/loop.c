/*
 * The packet thread: epoll over the UDP socket, the TUN fds and a wake-up
 * eventfd; bounded batches in both directions; commands from JavaScript run
 * between batches. See dataplane.h for the picture.
 *
 * Outbound, per TUN wake-up: up to `batch` reads. A plain TUN read lands in a
 * free transmit slot at ESP_PREFIX so encryption happens in place; with TUN
 * offloads (virtio_net_hdr) a read may be a 64 KB TCP super-packet, split into
 * slots here (TSO), or carry an unfinished checksum, finished here. Fragments
 * (inner packet beyond the SA's path budget) take further slots. One sendmmsg
 * per batch; with UDP GSO, runs of equal-size datagrams to one peer go as one
 * message each.
 *
 * Inbound: one recvmmsg of up to `batch` messages (with UDP GRO a message may
 * hold many datagrams), each ESP packet decrypted in place and written to its
 * SA's TUN; with TUN offloads, in-order segments of a TCP flow are joined into
 * one super-packet first (GRO), flushed at the end of the batch.
 *
 * Memory is fixed at creation; nothing on the packet path allocates except
 * IKE datagrams handed to JavaScript, whose queue is bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dataplane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ipv4.h"
#include "tun.h"
#include "udp.h"

#define TICK_MS 500
#define GRO_SLOT_SIZE (65536 + 512) /* a UDP GRO super-datagram */
#define GRO_MAX_BATCH 32
#define TUN_BUF_SIZE (TUN_VNET_HDR_LEN + 65536)
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
#define CTRL_SIZE CMSG_SPACE(sizeof(int))
#define KEY_WAKE 0xffffffffull
#define KEY_UDP 0xfffffffeull

const char *const drop_reason_name[DROP_COUNT] = {
    [DROP_REPLAY] = "replay",
    [DROP_ICV] = "icv",
    [DROP_NO_SA] = "no_sa",
    [DROP_MALFORMED] = "malformed",
    [DROP_BAD_PADDING] = "bad_padding",
    [DROP_BAD_NEXT_HEADER] = "bad_next_header",
    [DROP_QUEUE_FULL] = "queue_full",
    [DROP_TUN_WRITE] = "tun_write",
    [DROP_NO_OUTBOUND_SA] = "no_outbound_sa",
    [DROP_MTU] = "mtu",
    [DROP_SEQ_EXHAUSTED] = "seq_exhausted",
    [DROP_EXPIRED] = "expired",
    [DROP_NOT_IPV4] = "not_ipv4",
    [DROP_DUMMY] = "dummy",
    [DROP_UDP_SEND] = "udp_send",
};

struct dp_tunnel {
    int used;
    int fd;
    int failed; /* the fd reported an error; out of epoll until removed */
    int vnet;   /* packets carry a virtio_net_hdr (TUN offloads on) */
    struct dp_tunnel_options o;
    int ifindex;
    struct dp_sa *out;
    struct dp_traffic ctr;
    struct dp_tunnel_extra extra;
};

struct dataplane {
    pthread_t thread;
    int thread_started;
    int running; /* guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dp_cmd *cmd; /* guarded by mu */
    int startup_done, startup_status, startup_errno;
    char startup_error[256];

    int netns_fd, epfd, wake_fd, udp_fd;
    struct sockaddr_in local;
    int batch, rcvbuf, sndbuf;
    int stop;
    int tun_offload, udp_gso, udp_gro;
    int rx_count;
    size_t rx_slot_size;

    dp_emit_fn emit;
    void *emit_ctx;

    struct dp_tunnel tunnels[DP_MAX_TUNNELS + 1];
    struct sa_table sas;
    struct dp_global g;
    uint64_t ike_out_atomic;
    struct iv_pool ivs;
    uint16_t icmp_id;
    uint64_t next_tick;

    uint8_t *rx_bufs;
    struct mmsghdr *rx_msgs;
    struct iovec *rx_iov;
    struct sockaddr_in *rx_addr;
    uint8_t *rx_ctrl;

    uint8_t *tx_bufs;
    struct iovec *tx_iov;
    struct sockaddr_in *tx_addr;
    int *tx_tunnel;
    int tx_count;
    /* UDP GSO: runs of same-size datagrams to one destination become one message. */
    struct mmsghdr *gso_msgs;
    uint8_t *gso_ctrl;
    int *gso_first, *gso_count;

    uint8_t *scratch;
    uint8_t *tun_buf;
    /* TCP coalescing on the way into a TUN (see gro_* below). */
    struct {
        int tunnel;         /* 0: nothing pending */
        uint8_t *buf;       /* TUN_VNET_HDR_LEN + the packet */
        size_t len, ihl, hlen, seg, bytes;
        uint32_t next_seq;
        int count, closed;
    } gro;
    uint8_t icmp[TUN_VNET_HDR_LEN + 640];
};

uint64_t dp_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint8_t *rx_slot(struct dataplane *d, int i) { return d->rx_bufs + (size_t)i * d->rx_slot_size; }
static inline uint8_t *tx_slot(struct dataplane *d, int i) { return d->tx_bufs + (size_t)i * DP_SLOT_SIZE; }

static inline void drop(struct dataplane *d, struct dp_tunnel *t, struct dp_sa *sa, enum dp_drop why) {
    d->g.drops[why]++;
    if (t) t->ctr.drops[why]++;
    if (sa) sa->ctr.drops[why]++;
}

static struct dp_tunnel *tunnel_by_id(struct dataplane *d, int id) {
    if (id < 1 || id > DP_MAX_TUNNELS || !d->tunnels[id].used) return NULL;
    return &d->tunnels[id];
}

static void emit_error(struct dataplane *d, int tunnel, const char *message) {
    struct dp_event *ev = calloc(1, sizeof(*ev));
    if (!ev) return;
    ev->type = DP_EV_ERROR;
    ev->tunnel = tunnel;
    snprintf(ev->message, sizeof(ev->message), "%s", message);
    if (d->emit(d->emit_ctx, ev) != 0) {
        free(ev);
        d->g.events_dropped++;
    }
}

/* ---- outbound: TUN -> ESP -> UDP ---- */

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
    for (int k = first; k < first + count; k++) drop(d, tunnel_by_id(d, d->tx_tunnel[k]), NULL, why);
}

static void flush_tx(struct dataplane *d) {
    int messages = build_messages(d, 0);
    int sent = 0, waited = 0;
    while (sent < messages) {
        int r = sendmmsg(d->udp_fd, d->gso_msgs + sent, (unsigned)(messages - sent), 0);
        if (r > 0) {
            for (int k = sent; k < sent + r; k++) {
                d->g.udp_datagrams_out += (uint64_t)d->gso_count[k];
                if (d->gso_count[k] > 1) d->g.udp_gso_sends++;
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
        drop(d, t, sa, why);
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

/* Writes one packet to the TUN. With vnet headers the TUN_VNET_HDR_LEN bytes
 * in front of `pkt` are overwritten by an empty header (no offload: the kernel
 * checks the checksums as usual), so callers keep that much room before it. */
static int tun_write(struct dp_tunnel *t, uint8_t *pkt, size_t len) {
    if (t->vnet) {
        memset(pkt - TUN_VNET_HDR_LEN, 0, TUN_VNET_HDR_LEN);
        pkt -= TUN_VNET_HDR_LEN;
        len += TUN_VNET_HDR_LEN;
    }
    return write(t->fd, pkt, len) == (ssize_t)len ? 0 : -1;
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
        drop(d, t, sa, DROP_MTU);
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
        drop(d, t, NULL, DROP_NOT_IPV4);
        return;
    }
    size_t total = ipv4_total_length(ip, n);
    if (!total) {
        drop(d, t, NULL, DROP_MALFORMED);
        return;
    }
    struct dp_sa *sa = t->out;
    if (sa && sa->dead) sa = t->out = sa_table_newest(&d->sas, t->o.tunnel);
    if (!sa) {
        drop(d, t, NULL, DROP_NO_OUTBOUND_SA);
        return;
    }
    if (t->o.mss && ipv4_clamp_mss(ip, total, t->o.mss)) t->extra.mss_clamped++;
    if (t->o.clear_df && ipv4_clear_df(ip)) t->extra.df_cleared++;
    size_t budget = esp_max_inner(&sa->suite, (size_t)t->o.path_mtu);
    if (total > budget) {
        if (ipv4_df(ip)) {
            send_frag_needed(d, t, ip, total, budget);
            drop(d, t, sa, DROP_MTU);
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
    t->failed = 1;
    emit_error(d, t->o.tunnel, message);
}

/* A packet read with a virtio_net_hdr in front: finish a partial checksum,
 * or split a TCP super-packet, into transmit slots for outbound(). */
static void tun_offloaded(struct dataplane *d, struct dp_tunnel *t, uint8_t *buf, size_t n) {
    if (n < TUN_VNET_HDR_LEN) return;
    struct virtio_net_hdr h;
    memcpy(&h, buf, sizeof(h));
    uint8_t *pkt = buf + TUN_VNET_HDR_LEN;
    size_t len = n - TUN_VNET_HDR_LEN;
    uint8_t gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (gso == VIRTIO_NET_HDR_GSO_NONE) {
        if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && l4_checksum_finish(pkt, len, h.csum_start, h.csum_offset) != 0) {
            drop(d, t, NULL, DROP_MALFORMED);
            return;
        }
        if (len > DP_MAX_PKT) {
            drop(d, t, NULL, DROP_MALFORMED);
            return;
        }
        if (d->tx_count == d->batch) flush_tx(d);
        memcpy(tx_slot(d, d->tx_count) + ESP_PREFIX, pkt, len);
        outbound(d, t, len);
        return;
    }
    struct tso_iter it;
    if (gso != VIRTIO_NET_HDR_GSO_TCPV4 || h.gso_size == 0 || h.gso_size > DP_MAX_PKT - 120 ||
        tso_begin(&it, pkt, len, h.gso_size) != 0) {
        drop(d, t, NULL, DROP_MALFORMED);
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

static void tun_readable(struct dataplane *d, struct dp_tunnel *t) {
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
        d->g.tun_packets_in++;
        if (t->vnet)
            tun_offloaded(d, t, d->tun_buf, (size_t)n);
        else
            outbound(d, t, (size_t)n);
    }
    flush_tx(d);
}

/* ---- inbound: UDP -> (IKE to JS | ESP -> TUN) ---- */

/* ---- TCP coalescing into the TUN (GRO) ----
 *
 * With vnet headers, consecutive in-order segments of one TCP flow (same
 * addresses, ports, ack, options; ACK with at most PSH on the last) are joined
 * into one super-packet written with VIRTIO_NET_HDR_GSO_TCPV4, so the
 * receiving TCP stack does one pass per 64 KB instead of one per segment.
 * Each segment's checksum is verified before it may join, since the kernel
 * will not check the joined packet's. Anything else flushes first (order kept).
 */

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

static void gro_flush(struct dataplane *d) {
    if (!d->gro.tunnel) return;
    struct dp_tunnel *t = tunnel_by_id(d, d->gro.tunnel);
    int count = d->gro.count;
    size_t bytes = d->gro.bytes;
    d->gro.tunnel = 0;
    if (!t || t->failed) {
        for (int k = 0; k < count; k++) drop(d, t, NULL, DROP_TUN_WRITE);
        return;
    }
    uint8_t *pkt = d->gro.buf + TUN_VNET_HDR_LEN;
    size_t len = d->gro.len;
    struct virtio_net_hdr h;
    memset(&h, 0, sizeof(h));
    if (count > 1) {
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
        for (int k = 0; k < count; k++) drop(d, t, NULL, DROP_TUN_WRITE);
        return;
    }
    t->ctr.packets_in += (uint64_t)count;
    t->ctr.bytes_in += bytes;
    if (count > 1) t->extra.gro_packets++;
}

/* 1 when the packet was taken (joined or started a coalesced packet). */
static int gro_offer(struct dataplane *d, struct dp_tunnel *t, const uint8_t *p, size_t len) {
    size_t thl;
    if (!gro_candidate(p, len, &thl)) return 0;
    size_t hlen = 20 + thl, payload = len - hlen;
    uint8_t *g = d->gro.buf + TUN_VNET_HDR_LEN;
    if (d->gro.tunnel == t->o.tunnel && !d->gro.closed && d->gro.hlen == hlen && payload <= d->gro.seg &&
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
    gro_flush(d);
    memcpy(g, p, len);
    d->gro.tunnel = t->o.tunnel;
    d->gro.len = len;
    d->gro.bytes = len;
    d->gro.ihl = 20;
    d->gro.hlen = hlen;
    d->gro.seg = payload;
    d->gro.next_seq = ((uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27]) + (uint32_t)payload;
    d->gro.count = 1;
    d->gro.closed = (p[33] & 0x08) != 0;
    return 1;
}

static void pass_ike(struct dataplane *d, const uint8_t *p, size_t len, const struct sockaddr_in *from) {
    struct dp_event *ev = malloc(sizeof(*ev) + len);
    if (!ev) {
        drop(d, NULL, NULL, DROP_QUEUE_FULL);
        d->g.ike_dropped++;
        return;
    }
    memset(ev, 0, sizeof(*ev));
    ev->type = DP_EV_IKE;
    ev->from = *from;
    ev->len = len;
    memcpy(ev->data, p, len);
    if (d->emit(d->emit_ctx, ev) != 0) {
        free(ev);
        drop(d, NULL, NULL, DROP_QUEUE_FULL);
        d->g.ike_dropped++;
        return;
    }
    d->g.ike_in++;
}

static inline uint32_t rd32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void inbound(struct dataplane *d, uint8_t *p, size_t len, int truncated, const struct sockaddr_in *from) {
    d->g.udp_datagrams_in++;
    if (truncated) {
        drop(d, NULL, NULL, DROP_MALFORMED);
        return;
    }
    if (len == 1 && p[0] == 0xff) {
        d->g.keepalives_in++;
        return;
    }
    if (len < 4) {
        drop(d, NULL, NULL, DROP_MALFORMED);
        return;
    }
    uint32_t spi = rd32(p);
    if (spi == 0) {
        pass_ike(d, p + 4, len - 4, from);
        return;
    }
    d->g.esp_in++;
    struct dp_sa *sa = sa_table_lookup(&d->sas, spi);
    if (!sa) {
        drop(d, NULL, NULL, DROP_NO_SA);
        return;
    }
    struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
    uint8_t *inner;
    size_t inner_len;
    enum dp_drop why;
    if (sa_input(sa, p, len, &inner, &inner_len, &why) != 0) {
        drop(d, t, sa, why);
        return;
    }
    if (!t || t->failed) {
        drop(d, t, sa, DROP_TUN_WRITE);
        return;
    }
    if (t->o.mss && ipv4_clamp_mss(inner, inner_len, t->o.mss)) t->extra.mss_clamped++;
    if (t->vnet && gro_offer(d, t, inner, inner_len)) return;
    gro_flush(d); /* keep the order */
    if (tun_write(t, inner, inner_len) != 0) {
        drop(d, t, sa, DROP_TUN_WRITE);
        return;
    }
    t->ctr.packets_in++;
    t->ctr.bytes_in += inner_len;
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

static void udp_readable(struct dataplane *d) {
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
            d->g.udp_gro_receives++;
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

/* ---- lifetimes and SA events ---- */

static void deliver(struct dataplane *d, struct dp_sa *sa, enum dp_event_type type, uint8_t *state, int reason) {
    if (*state != SA_EVENT_PENDING) return;
    struct dp_event *ev = calloc(1, sizeof(*ev));
    if (!ev) return;
    ev->type = type;
    ev->sa_id = sa->id;
    ev->tunnel = sa->tunnel;
    ev->reason = reason;
    ev->seq = sa->seq_out;
    if (d->emit(d->emit_ctx, ev) != 0) {
        free(ev);
        d->g.events_dropped++;
        return;
    }
    *state = SA_EVENT_SENT;
}

static void tick(struct dataplane *d, uint64_t now) {
    for (struct dp_sa *sa = d->sas.all; sa; sa = sa->next) {
        sa_check_time(sa, now);
        if (sa->dead) {
            struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
            if (t && t->out == sa) t->out = sa_table_newest(&d->sas, sa->tunnel);
        }
        deliver(d, sa, DP_EV_SA_SOFT, &sa->soft_state, sa->soft_reason);
        deliver(d, sa, DP_EV_SA_HARD, &sa->hard_state, sa->hard_reason);
        deliver(d, sa, DP_EV_SA_SEQ, &sa->seq_state, 0);
    }
}

/* ---- commands ---- */

static void cmd_fail(struct dp_cmd *c, int status, int err, const char *fmt, const char *arg) {
    c->status = status;
    c->sys_errno = err;
    snprintf(c->error, sizeof(c->error), fmt, arg);
}

static void run_add_tunnel(struct dataplane *d, struct dp_cmd *c) {
    struct dp_tunnel_options *o = &c->tunnel;
    if (o->tunnel < 1 || o->tunnel > DP_MAX_TUNNELS) {
        cmd_fail(c, DP_ERR_ARG, 0, "tunnel number out of range%s", "");
        return;
    }
    if (d->tunnels[o->tunnel].used) {
        cmd_fail(c, DP_ERR_EXISTS, 0, "tunnel %s already exists", o->ifname);
        return;
    }
    for (int i = 1; i <= DP_MAX_TUNNELS; i++)
        if (d->tunnels[i].used && !strcmp(d->tunnels[i].o.ifname, o->ifname)) {
            cmd_fail(c, DP_ERR_EXISTS, 0, "interface %s is already used by another tunnel", o->ifname);
            return;
        }
    struct tun_config tc = {.ifname = o->ifname, .mtu = o->mtu, .address = o->address, .prefix_len = o->prefix_len,
                            .txqueuelen = o->txqueuelen, .disable_ipv6 = o->disable_ipv6,
                            .offload = d->tun_offload};
    int ifindex = 0, vnet = 0;
    int fd = tun_open(&tc, &ifindex, &vnet, c->error, sizeof(c->error));
    if (fd < 0) {
        c->status = DP_ERR_SYSTEM;
        c->sys_errno = errno;
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)o->tunnel};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        close(fd);
        cmd_fail(c, DP_ERR_SYSTEM, e, "epoll_ctl: %s", strerror(e));
        return;
    }
    struct dp_tunnel *t = &d->tunnels[o->tunnel];
    memset(t, 0, sizeof(*t));
    t->used = 1;
    t->fd = fd;
    t->o = *o;
    t->ifindex = ifindex;
    t->vnet = vnet;
    t->out = sa_table_newest(&d->sas, o->tunnel);
    c->ifindex = ifindex;
}

static void run_remove_tunnel(struct dataplane *d, struct dp_cmd *c) {
    struct dp_tunnel *t = tunnel_by_id(d, c->tunnel.tunnel);
    if (!t) {
        cmd_fail(c, DP_ERR_NOT_FOUND, 0, "no such tunnel%s", "");
        return;
    }
    if (!t->failed) epoll_ctl(d->epfd, EPOLL_CTL_DEL, t->fd, NULL);
    close(t->fd);
    /* Its SAs go with it. */
    struct dp_sa *sa = d->sas.all;
    while (sa) {
        struct dp_sa *next = sa->next;
        if (sa->tunnel == t->o.tunnel) {
            sa_table_remove(&d->sas, sa->id);
            sa->next = c->freed;
            c->freed = sa;
        }
        sa = next;
    }
    memset(t, 0, sizeof(*t));
    t->fd = -1;
}

static void run_set_tunnel(struct dataplane *d, struct dp_cmd *c) {
    struct dp_tunnel *t = tunnel_by_id(d, c->tunnel.tunnel);
    if (!t) {
        cmd_fail(c, DP_ERR_NOT_FOUND, 0, "no such tunnel%s", "");
        return;
    }
    t->o.mss = c->tunnel.mss;
    t->o.clear_df = c->tunnel.clear_df;
    t->o.fragment = c->tunnel.fragment;
    t->o.path_mtu = c->tunnel.path_mtu;
}

static void run_install_sa(struct dataplane *d, struct dp_cmd *c) {
    struct dp_sa *sa = c->sa;
    struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
    if (!t) {
        cmd_fail(c, DP_ERR_NOT_FOUND, 0, "tunnel of the SA does not exist%s", "");
        return;
    }
    if (sa_table_insert(&d->sas, sa) != 0) {
        cmd_fail(c, DP_ERR_EXISTS, 0, "an SA with this id or inbound SPI is already installed%s", "");
        return;
    }
    sa->installed_ms = dp_now_ms();
    t->out = sa_table_newest(&d->sas, sa->tunnel); /* make-before-break: the newest sends */
}

static void run_remove_sa(struct dataplane *d, struct dp_cmd *c) {
    struct dp_sa *sa = sa_table_remove(&d->sas, c->sa_id);
    if (!sa) {
        cmd_fail(c, DP_ERR_NOT_FOUND, 0, "no such SA%s", "");
        return;
    }
    struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
    if (t && t->out == sa) t->out = sa_table_newest(&d->sas, sa->tunnel);
    c->freed = sa;
}

static void run_snapshot(struct dataplane *d, struct dp_cmd *c) {
    size_t n = d->sas.count;
    struct dp_snapshot *s = calloc(1, sizeof(*s) + n * sizeof(struct dp_sa_snapshot));
    if (!s) {
        cmd_fail(c, DP_ERR_SYSTEM, ENOMEM, "out of memory%s", "");
        return;
    }
    s->global = d->g;
    s->global.ike_out = __atomic_load_n(&d->ike_out_atomic, __ATOMIC_RELAXED);
    s->udp_gso = d->udp_gso;
    s->udp_gro = d->udp_gro;
    uint64_t now = dp_now_ms();
    for (int i = 1; i <= DP_MAX_TUNNELS; i++) {
        struct dp_tunnel *t = &d->tunnels[i];
        if (!t->used) continue;
        struct dp_tunnel_snapshot *ts = &s->tunnels[s->tunnel_count++];
        ts->tunnel = i;
        memcpy(ts->ifname, t->o.ifname, IFNAMSIZ);
        ts->ifindex = t->ifindex;
        ts->mtu = t->o.mtu;
        ts->path_mtu = t->o.path_mtu;
        ts->failed = t->failed;
        ts->offload = t->vnet;
        ts->mss = t->o.mss;
        ts->clear_df = t->o.clear_df;
        ts->fragment = t->o.fragment;
        ts->has_outbound = t->out != NULL;
        ts->outbound_sa = t->out ? t->out->id : 0;
        ts->ctr = t->ctr;
        ts->extra = t->extra;
    }
    size_t k = 0;
    for (struct dp_sa *sa = d->sas.all; sa && k < n; sa = sa->next, k++) {
        struct dp_sa_snapshot *ss = &s->sas[k];
        struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
        ss->id = sa->id;
        ss->tunnel = sa->tunnel;
        ss->spi_in = sa->spi_in;
        ss->spi_out = sa->spi_out;
        ss->encryption = sa->suite.enc_name;
        ss->integrity = sa->suite.integ_name;
        ss->seq_out = sa->seq_out;
        ss->replay_top = sa->replay.top;
        ss->replay_window = sa->replay.size;
        ss->age_ms = now - sa->installed_ms;
        ss->outbound = t && t->out == sa;
        ss->dead = sa->dead;
        ss->soft_expired = sa->soft_state != SA_EVENT_NONE;
        ss->ctr = sa->ctr;
    }
    s->sa_count = k;
    c->snapshot = s;
}

static void run_command(struct dataplane *d, struct dp_cmd *c) {
    c->status = DP_OK;
    gro_flush(d);
    switch (c->type) {
    case DP_CMD_ADD_TUNNEL: run_add_tunnel(d, c); break;
    case DP_CMD_REMOVE_TUNNEL: run_remove_tunnel(d, c); break;
    case DP_CMD_SET_TUNNEL: run_set_tunnel(d, c); break;
    case DP_CMD_INSTALL_SA: run_install_sa(d, c); break;
    case DP_CMD_REMOVE_SA: run_remove_sa(d, c); break;
    case DP_CMD_SNAPSHOT: run_snapshot(d, c); break;
    case DP_CMD_STOP: d->stop = 1; break;
    }
}

static void handle_wake(struct dataplane *d) {
    uint64_t v;
    ssize_t r = read(d->wake_fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&d->mu);
    struct dp_cmd *c = d->cmd;
    if (c) {
        run_command(d, c);
        d->cmd = NULL;
        c->done = 1;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
}

/* ---- the thread ---- */

static void startup_result(struct dataplane *d, int status, int err) {
    pthread_mutex_lock(&d->mu);
    d->startup_status = status;
    d->startup_errno = err;
    d->startup_done = 1;
    d->running = status == DP_OK;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void *thread_main(void *arg) {
    struct dataplane *d = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_setname_np(pthread_self(), "cgwd-dataplane");

    /* Enter the namespace on this thread only: the fds created here (UDP now,
     * TUNs later in commands) belong to it for good. */
    if (d->netns_fd >= 0 && setns(d->netns_fd, CLONE_NEWNET) != 0) {
        int e = errno;
        snprintf(d->startup_error, sizeof(d->startup_error), "setns: %s", strerror(e));
        startup_result(d, DP_ERR_SYSTEM, e);
        return NULL;
    }
    d->udp_fd = udp_open(&d->local, d->rcvbuf, d->sndbuf, &d->local, d->startup_error, sizeof(d->startup_error));
    if (d->udp_fd < 0) {
        startup_result(d, DP_ERR_SYSTEM, errno);
        return NULL;
    }
    if (d->udp_gso) {
        int zero = 0, one = 1;
        /* UDP_SEGMENT with size 0 is a no-op that only succeeds where UDP GSO exists. */
        d->udp_gso = setsockopt(d->udp_fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
        d->udp_gro = setsockopt(d->udp_fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KEY_UDP};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->udp_fd, &ev) < 0) {
        int e = errno;
        snprintf(d->startup_error, sizeof(d->startup_error), "epoll_ctl: %s", strerror(e));
        startup_result(d, DP_ERR_SYSTEM, e);
        return NULL;
    }
    startup_result(d, DP_OK, 0);

    struct epoll_event events[DP_MAX_TUNNELS + 2];
    d->next_tick = dp_now_ms() + TICK_MS;
    while (!d->stop) {
        uint64_t now = dp_now_ms();
        int timeout = now >= d->next_tick ? 0 : (int)(d->next_tick - now);
        int n = epoll_wait(d->epfd, events, DP_MAX_TUNNELS + 2, timeout);
        if (n < 0 && errno != EINTR) {
            emit_error(d, 0, "epoll_wait failed; the data plane stopped");
            break;
        }
        d->g.wakeups++;
        for (int i = 0; i < n && !d->stop; i++) {
            uint64_t key = events[i].data.u64;
            if (key == KEY_WAKE) {
                handle_wake(d);
            } else if (key == KEY_UDP) {
                udp_readable(d);
            } else {
                struct dp_tunnel *t = tunnel_by_id(d, (int)key);
                if (t && !t->failed) tun_readable(d, t);
            }
        }
        now = dp_now_ms();
        if (now >= d->next_tick) {
            tick(d, now);
            d->next_tick = now + TICK_MS;
        }
    }

    pthread_mutex_lock(&d->mu);
    d->running = 0;
    if (d->cmd) {
        if (d->cmd->type == DP_CMD_STOP) {
            d->cmd->status = DP_OK;
        } else {
            d->cmd->status = DP_ERR_CLOSED;
            snprintf(d->cmd->error, sizeof(d->cmd->error), "data plane stopped");
        }
        d->cmd->done = 1;
        d->cmd = NULL;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void free_buffers(struct dataplane *d) {
    free(d->rx_bufs);
    free(d->rx_msgs);
    free(d->rx_iov);
    free(d->rx_addr);
    free(d->tx_bufs);
    free(d->tx_iov);
    free(d->tx_addr);
    free(d->tx_tunnel);
    free(d->rx_ctrl);
    free(d->gso_msgs);
    free(d->gso_ctrl);
    free(d->gso_first);
    free(d->gso_count);
    free(d->scratch);
    free(d->tun_buf);
    free(d->gro.buf);
}

static int alloc_buffers(struct dataplane *d) {
    size_t b = (size_t)d->batch;
    size_t rb = (size_t)d->rx_count;
    d->rx_bufs = malloc(rb * d->rx_slot_size);
    d->rx_msgs = calloc(rb, sizeof(*d->rx_msgs));
    d->rx_iov = calloc(rb, sizeof(*d->rx_iov));
    d->rx_addr = calloc(rb, sizeof(*d->rx_addr));
    d->rx_ctrl = calloc(rb, CTRL_SIZE);
    d->gso_msgs = calloc(b, sizeof(*d->gso_msgs));
    d->gso_ctrl = calloc(b, CTRL_SIZE);
    d->gso_first = calloc(b, sizeof(int));
    d->gso_count = calloc(b, sizeof(int));
    d->tun_buf = malloc(TUN_BUF_SIZE);
    d->gro.buf = malloc(TUN_BUF_SIZE);
    d->tx_bufs = malloc(b * DP_SLOT_SIZE);
    d->tx_iov = calloc(b, sizeof(*d->tx_iov));
    d->tx_addr = calloc(b, sizeof(*d->tx_addr));
    d->tx_tunnel = calloc(b, sizeof(*d->tx_tunnel));
    d->scratch = malloc(DP_SLOT_SIZE);
    if (!d->rx_bufs || !d->rx_msgs || !d->rx_iov || !d->rx_addr || !d->rx_ctrl || !d->tx_bufs ||
        !d->tx_iov || !d->tx_addr || !d->tx_tunnel || !d->scratch || !d->gso_msgs || !d->gso_ctrl || !d->gso_first ||
        !d->gso_count || !d->tun_buf || !d->gro.buf)
        return -1;
    for (size_t i = 0; i < rb; i++) {
        d->rx_iov[i].iov_base = rx_slot(d, (int)i);
        d->rx_iov[i].iov_len = d->rx_slot_size;
        d->rx_msgs[i].msg_hdr.msg_iov = &d->rx_iov[i];
        d->rx_msgs[i].msg_hdr.msg_iovlen = 1;
        d->rx_msgs[i].msg_hdr.msg_name = &d->rx_addr[i];
        d->rx_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }
    return 0;
}

static void close_fds(struct dataplane *d) {
    for (int i = 1; i <= DP_MAX_TUNNELS; i++)
        if (d->tunnels[i].used && d->tunnels[i].fd >= 0) close(d->tunnels[i].fd);
    if (d->udp_fd >= 0) close(d->udp_fd);
    if (d->epfd >= 0) close(d->epfd);
    if (d->wake_fd >= 0) close(d->wake_fd);
    if (d->netns_fd >= 0) close(d->netns_fd);
    d->udp_fd = d->epfd = d->wake_fd = d->netns_fd = -1;
}

static void free_all(struct dataplane *d) {
    close_fds(d);
    struct dp_sa *sa = d->sas.all;
    while (sa) {
        struct dp_sa *next = sa->next;
        sa_destroy(sa);
        sa = next;
    }
    free_buffers(d);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}

struct dataplane *dp_create(const struct dp_options *o, dp_emit_fn emit, void *emit_ctx, int *status, int *sys_errno,
                            char *err, size_t err_len) {
    struct dataplane *d = calloc(1, sizeof(*d));
    if (!d) {
        *status = DP_ERR_SYSTEM;
        *sys_errno = ENOMEM;
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->netns_fd = d->epfd = d->wake_fd = d->udp_fd = -1;
    for (int i = 0; i <= DP_MAX_TUNNELS; i++) d->tunnels[i].fd = -1;
    d->local = o->local;
    d->batch = o->batch < 1 ? 1 : o->batch > DP_MAX_BATCH ? DP_MAX_BATCH : o->batch;
    d->rcvbuf = o->rcvbuf;
    d->sndbuf = o->sndbuf;
    d->tun_offload = o->tun_offload;
    d->udp_gso = d->udp_gro = o->udp_offload; /* confirmed or withdrawn once the socket exists */
    d->rx_slot_size = o->udp_offload ? GRO_SLOT_SIZE : DP_SLOT_SIZE;
    d->rx_count = o->udp_offload && d->batch > GRO_MAX_BATCH ? GRO_MAX_BATCH : d->batch;
    d->emit = emit;
    d->emit_ctx = emit_ctx;
    sa_table_init(&d->sas);
    iv_pool_init(&d->ivs);

    *status = DP_ERR_SYSTEM;
    *sys_errno = 0;
    if (alloc_buffers(d) != 0) {
        *sys_errno = ENOMEM;
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (o->netns) {
        d->netns_fd = open(o->netns, O_RDONLY | O_CLOEXEC);
        if (d->netns_fd < 0) {
            *sys_errno = errno;
            snprintf(err, err_len, "open %s: %s", o->netns, strerror(errno));
            goto fail;
        }
    }
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->epfd < 0 || d->wake_fd < 0) {
        *sys_errno = errno;
        snprintf(err, err_len, "epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KEY_WAKE};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wake_fd, &ev) < 0) {
        *sys_errno = errno;
        snprintf(err, err_len, "epoll_ctl: %s", strerror(errno));
        goto fail;
    }
    int r = pthread_create(&d->thread, NULL, thread_main, d);
    if (r != 0) {
        *sys_errno = r;
        snprintf(err, err_len, "pthread_create: %s", strerror(r));
        goto fail;
    }
    d->thread_started = 1;
    pthread_mutex_lock(&d->mu);
    while (!d->startup_done) pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    if (d->startup_status != DP_OK) {
        *status = d->startup_status;
        *sys_errno = d->startup_errno;
        snprintf(err, err_len, "%s", d->startup_error);
        pthread_join(d->thread, NULL);
        goto fail;
    }
    *status = DP_OK;
    return d;
fail:
    free_all(d);
    return NULL;
}

int dp_command(struct dataplane *d, struct dp_cmd *c) {
    c->done = 0;
    c->freed = NULL;
    c->snapshot = NULL;
    c->error[0] = 0;
    pthread_mutex_lock(&d->mu);
    if (!d->running) {
        pthread_mutex_unlock(&d->mu);
        c->status = DP_ERR_CLOSED;
        snprintf(c->error, sizeof(c->error), "data plane is closed");
        return c->status;
    }
    d->cmd = c;
    pthread_mutex_unlock(&d->mu);
    uint64_t one = 1;
    ssize_t w = write(d->wake_fd, &one, sizeof(one));
    (void)w;
    pthread_mutex_lock(&d->mu);
    while (!c->done) pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    return c->status;
}

int dp_send_udp(struct dataplane *d, const struct sockaddr_in *to, const uint8_t *data, size_t len, int ike_marker) {
    if (!dp_running(d)) return EBADF;
    static const uint8_t marker[4] = {0, 0, 0, 0};
    struct iovec iov[2];
    int n = 0;
    if (ike_marker) {
        iov[n].iov_base = (void *)marker;
        iov[n++].iov_len = 4;
    }
    iov[n].iov_base = (void *)data;
    iov[n++].iov_len = len;
    struct msghdr m = {.msg_name = (void *)to, .msg_namelen = sizeof(*to), .msg_iov = iov, .msg_iovlen = (size_t)n};
    if (sendmsg(d->udp_fd, &m, MSG_DONTWAIT) < 0) return errno;
    if (ike_marker) __atomic_add_fetch(&d->ike_out_atomic, 1, __ATOMIC_RELAXED);
    return 0;
}

struct sockaddr_in dp_local_address(const struct dataplane *d) { return d->local; }

int dp_running(const struct dataplane *d) {
    struct dataplane *m = (struct dataplane *)d;
    pthread_mutex_lock(&m->mu);
    int r = m->running;
    pthread_mutex_unlock(&m->mu);
    return r;
}

void dp_destroy(struct dataplane *d) {
    if (!d) return;
    if (d->thread_started) {
        struct dp_cmd c;
        memset(&c, 0, sizeof(c));
        c.type = DP_CMD_STOP;
        dp_command(d, &c);
        pthread_join(d->thread, NULL);
        d->thread_started = 0;
    }
    free_all(d);
}
