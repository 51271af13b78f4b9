/*
 * What the packet threads' files share: loop.c (the threads, ticks, create and
 * destroy), tx.c (outbound), rx.c (inbound), gro.c (TCP coalescing toward the
 * TUN) and commands.c. The helpers here are on the hot path and inline.
 *
 * One or two packet threads (dp_options.threads). With one, a single loop does
 * everything, as before. With two, an outbound thread (TUN fds, the command
 * wake-up, probe timers, lifetime ticks: tx.c, commands.c, probe_run) and an
 * inbound thread (the UDP socket: rx.c, gro.c, probe_inbound) share this
 * struct. Who may write what:
 *
 *   - The SA table, the tunnel table (used, fd, o, vnet, ifindex), dp_sa's
 *     configuration (id, spi, keys, limits, held, generation, installed_ms),
 *     probe configuration (on, id, target, interval): commands only. Each
 *     packet thread holds `tables` for reading for one wake-up's batch;
 *     commands and ticks run on the outbound thread holding it for writing
 *     (writer-preferring, so a busy inbound thread cannot starve a command).
 *     So a command still runs with neither thread inside a batch, and an SA
 *     is freed only after both have let go of every pointer to it.
 *   - t->out: the outbound thread (a dead SA replaced in outbound()) and
 *     commands/ticks under the write lock; nothing else reads it outside the
 *     write lock. Ticks (sa_check_time, t->out, SA events) take the write
 *     lock: they are every TICK_MS and brief, and that keeps soft/hard state
 *     transitions PENDING -> SENT out of the packet threads' way.
 *   - Counters: every counter has one writing thread. Instance-wide: gout
 *     (outbound thread) and gin (inbound thread), summed in snapshots;
 *     per tunnel ctr/extra (outbound) and ctr_in/extra_in/last_inbound_ms
 *     (inbound); per SA ctr (outbound, with seq_out) and ctr_in (inbound,
 *     with the replay window). drop_out()/drop_in() pick the side, so no drop
 *     counter is written by both threads and none needs a locked add. Each
 *     side's group sits on cache lines of its own. Fields one thread writes
 *     and the other reads while both run (packets/bytes for the SA volume
 *     limits, the tunnel's packets_in for probes) are stored and loaded with
 *     relaxed __atomic builtins (plain moves on x86-64). events_dropped is
 *     bumped from both (rare): atomic add on gout. Snapshots are taken by a
 *     command, under the write lock: as consistent as with one thread.
 *   - sa->dead and the soft/hard event states: a volume limit can be crossed
 *     on either thread, so NONE -> PENDING and dead 0 -> 1 are compare-and-
 *     swaps (the winner writes the reason); ticks under the write lock do
 *     the rest. Readers on the packet path load dead with __atomic.
 *   - t->failed: set by the outbound thread when its TUN read fails, read by
 *     the inbound thread before writing to that TUN: atomic store/load.
 *   - Probes: the outbound thread sends and declares losses; the inbound
 *     thread claims replies. They meet in one word, probe.outstanding (seq |
 *     PROBE_OUTSTANDING, or 0), see probe.c.
 *   - The UDP socket is shared (sendmmsg on one thread, recvmmsg on the
 *     other: the kernel serialises); d->udp_gso is the outbound thread's,
 *     d->udp_gro is fixed after start-up. The event queue to JavaScript is a
 *     threadsafe function, safe from both.
 *   - stop, heartbeats, stall deadlines: __atomic.
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
#define DP_CACHELINE 64
#define DP_ALIGNED __attribute__((aligned(DP_CACHELINE)))

struct dp_tunnel {
    int used;
    int fd;
    int failed; /* the fd reported an error; out of epoll until removed (__atomic: read by the inbound thread) */
    int vnet;   /* packets carry a virtio_net_hdr (TUN offloads on); 2: UDP segmentation offload (USO) too */
    struct dp_tunnel_options o;
    int ifindex;
    struct dp_sa *out;
    struct dp_probe probe; /* probe.c */
    /* Written by the outbound thread (and commands). */
    struct dp_traffic ctr DP_ALIGNED;
    struct dp_tunnel_extra extra;
    /* Written by the inbound thread. */
    struct dp_traffic ctr_in DP_ALIGNED;
    struct dp_tunnel_extra extra_in;
    uint64_t last_inbound_ms; /* when the tunnel last decrypted a packet (0: never) */
};

struct dataplane {
    pthread_t thread;     /* the only packet thread, or the outbound one */
    int thread_started;
    int threads;          /* 1 or 2 */
    pthread_t in_thread;  /* threads == 2: the inbound one */
    int in_thread_started;
    int in_epfd, in_wake_fd;
    int in_startup_done, in_startup_status, in_startup_errno; /* guarded by mu */
    pthread_rwlock_t tables; /* threads == 2: see the top of this file */
    int tables_init;
    int running; /* guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dp_cmd *cmd; /* guarded by mu */
    int startup_done, startup_status, startup_errno;
    char startup_error[256];

    int netns_fd, epfd, wake_fd, udp_fd;
    struct sockaddr_in local;
    int batch, rcvbuf, sndbuf;
    int stop; /* __atomic */
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
    uint64_t ike_out_atomic;
    /* Read by JavaScript from any thread (atomics), one per packet thread ([0]: the only or the
     * outbound one, [1]: the inbound one): the watchdog's proof of progress, and a test hook that
     * parks the loop until a deadline (dp_stall). */
    struct {
        uint64_t beat;
        uint64_t stall_until_ms;
    } DP_ALIGNED hb[2];
    /* Instance-wide counters, one copy per writing thread (summed in snapshots). */
    struct dp_global gout DP_ALIGNED;
    struct dp_global gin DP_ALIGNED;

    /* The outbound side's state. */
    struct iv_pool ivs DP_ALIGNED;
    uint16_t icmp_id;
    uint64_t next_tick;

    uint8_t *rx_bufs; /* inbound */
    struct mmsghdr *rx_msgs;
    struct iovec *rx_iov;
    struct sockaddr_in *rx_addr;
    uint8_t *rx_ctrl;

    uint8_t *tx_bufs; /* outbound: tx_*, gso_*, scratch, tun_buf, icmp, ivs */
    struct iovec *tx_iov;
    struct sockaddr_in *tx_addr;
    int *tx_tunnel;
    int tx_count DP_ALIGNED;
    /* UDP GSO: runs of same-size datagrams to one destination become one message. */
    struct mmsghdr *gso_msgs;
    uint8_t *gso_ctrl;
    int *gso_first, *gso_count;

    uint8_t *scratch;
    uint8_t *tun_buf;
    /* TCP coalescing on the way into a TUN (gro.c): inbound. */
    struct DP_ALIGNED {
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

/* A drop on the outbound side (tx.c, probes, commands) and on the inbound side (rx.c, gro.c). */
static inline void drop_out(struct dataplane *d, struct dp_tunnel *t, struct dp_sa *sa, enum dp_drop why) {
    d->gout.drops[why]++;
    if (t) t->ctr.drops[why]++;
    if (sa) sa->ctr.drops[why]++;
}
static inline void drop_in(struct dataplane *d, struct dp_tunnel *t, struct dp_sa *sa, enum dp_drop why) {
    d->gin.drops[why]++;
    if (t) t->ctr_in.drops[why]++;
    if (sa) sa->ctr_in.drops[why]++;
}
/* Events that could not be queued, from either thread (rare). */
static inline void event_dropped(struct dataplane *d) { __atomic_fetch_add(&d->gout.events_dropped, 1, __ATOMIC_RELAXED); }
/* A counter one thread writes and the other may read while both run. */
static inline void bump_shared(uint64_t *c, uint64_t n) { __atomic_store_n(c, *c + n, __ATOMIC_RELAXED); }
static inline int tunnel_failed(const struct dp_tunnel *t) { return __atomic_load_n(&t->failed, __ATOMIC_RELAXED); }

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
/* Allocates d with the alignment its cache-line groups need, zeroed. NULL when out of memory. */
struct dataplane *dp_alloc(void);
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
