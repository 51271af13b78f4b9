/*
 * What the packet thread's files share: loop.c (the thread, ticks, create and
 * destroy), tx.c (outbound), rx.c (inbound), gro.c (TCP coalescing toward the
 * TUN) and commands.c. The helpers here are on the hot path and inline.
 */
#ifndef CGWD_LOOP_INTERNAL_H
#define CGWD_LOOP_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataplane.h"
#include "probe.h"
#include "tun.h"

#define TUN_BUF_SIZE (TUN_VNET_HDR_LEN + 65536)
#define CTRL_SIZE CMSG_SPACE(sizeof(int))
/* epoll keys: tunnel ids (1..DP_MAX_TUNNELS) are the keys of their TUN fds. */
#define KEY_WAKE 0xffffffffull
#define KEY_UDP 0xfffffffeull

struct dp_tunnel {
    int used;
    int fd;
    int failed; /* the fd reported an error; out of epoll until removed */
    int vnet;   /* packets carry a virtio_net_hdr (TUN offloads on); 2: UDP segmentation offload (USO) too */
    struct dp_tunnel_options o;
    int ifindex;
    struct dp_sa *out;
    struct dp_traffic ctr;
    struct dp_tunnel_extra extra;
    struct dp_probe probe; /* probe.c */
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

    /* IKE to JavaScript (rx.c): the configured peers, and how many of each one's datagrams (the
     * last bucket: any source, when no peer is configured) wait in the queue. Written by the
     * packet thread (+) and the JavaScript thread (-, dp_ike_consumed): __atomic builtins. */
    uint32_t ike_peers[DP_MAX_IKE_PEERS];
    int ike_peer_count;
    int ike_quota;                          /* per bucket */
    int ike_queued[DP_MAX_IKE_PEERS + 1];

    struct dp_tunnel tunnels[DP_MAX_TUNNELS + 1];
    struct sa_table sas;
    struct dp_global g;
    uint64_t ike_out_atomic;
    struct iv_pool ivs;
    uint16_t icmp_id;
    uint64_t next_tick;
    /* Read by JavaScript from any thread (atomics): the watchdog's proof of progress, and a
     * test hook that parks the loop until a deadline (dp_stall). */
    uint64_t heartbeat;
    uint64_t stall_until_ms;

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
    /* TCP coalescing on the way into a TUN (gro.c). */
    struct {
        int tunnel;         /* 0: nothing pending */
        uint8_t *buf;       /* TUN_VNET_HDR_LEN + the packet */
        size_t len, ihl, hlen, seg, bytes;
        uint32_t next_seq;
        int count, closed;
        int udp;            /* a run of UDP datagrams (USO), not TCP segments */
    } gro;
    uint8_t icmp[TUN_VNET_HDR_LEN + 640];
};

static inline uint8_t *rx_slot(struct dataplane *d, int i) { return d->rx_bufs + (size_t)i * d->rx_slot_size; }
static inline uint8_t *tx_slot(struct dataplane *d, int i) { return d->tx_bufs + (size_t)i * DP_SLOT_SIZE; }

static inline void drop(struct dataplane *d, struct dp_tunnel *t, struct dp_sa *sa, enum dp_drop why) {
    d->g.drops[why]++;
    if (t) t->ctr.drops[why]++;
    if (sa) sa->ctr.drops[why]++;
}

static inline struct dp_tunnel *tunnel_by_id(struct dataplane *d, int id) {
    if (id < 1 || id > DP_MAX_TUNNELS || !d->tunnels[id].used) return NULL;
    return &d->tunnels[id];
}

/* Writes one packet to the TUN. With vnet headers the TUN_VNET_HDR_LEN bytes
 * in front of `pkt` are overwritten by an empty header (no offload: the kernel
 * checks the checksums as usual), so callers keep that much room before it. */
static inline int tun_write(struct dp_tunnel *t, uint8_t *pkt, size_t len) {
    if (t->vnet) {
        memset(pkt - TUN_VNET_HDR_LEN, 0, TUN_VNET_HDR_LEN);
        pkt -= TUN_VNET_HDR_LEN;
        len += TUN_VNET_HDR_LEN;
    }
    return write(t->fd, pkt, len) == (ssize_t)len ? 0 : -1;
}

/* loop.c */
void emit_error(struct dataplane *d, int tunnel, const char *message);
/* The batch buffers for d->batch and d->rx_count (loop.c; the fuzz harness uses it too). 0, or -1 out of memory. */
int alloc_buffers(struct dataplane *d);
/* tx.c: reads, encrypts and sends what the TUN has. */
void tun_readable(struct dataplane *d, struct dp_tunnel *t);
/* tx.c: sends one packet of our own (a probe) through the tunnel's outbound path now. 0, or -1 when
 * it was dropped (no SA, ...: counted as usual). */
int tx_inject(struct dataplane *d, struct dp_tunnel *t, const uint8_t *pkt, size_t len);
/* rx.c: receives, decrypts and delivers what the UDP socket has. */
void udp_readable(struct dataplane *d);
/* gro.c */
void gro_flush(struct dataplane *d);
int gro_offer(struct dataplane *d, struct dp_tunnel *t, const uint8_t *p, size_t len);
/* commands.c: runs the pending command, if any. */
void handle_wake(struct dataplane *d);

#endif
