/*
 * The packet thread: epoll over the UDP socket, the TUN fds and a wake-up
 * eventfd; bounded batches in both directions (tx.c, rx.c); commands from
 * JavaScript between batches (commands.c); SA lifetimes on a tick. See
 * dataplane.h for the picture.
 *
 * With dp_options.threads = 2 the same work is split by direction:
 *   cgwd-dp-out (out_main): epoll over the TUN fds and the command eventfd;
 *     tun_readable, probe timers, then (write lock) commands and ticks.
 *   cgwd-dp-in (in_main): epoll over the UDP socket and an eventfd of its
 *     own (stop, stall); udp_readable (ESP, GRO, IKE, probe replies).
 * Each holds d->tables for reading while it works on one wake-up's events;
 * commands and ticks take it for writing on the outbound thread (the
 * reasoning for every shared field is at the top of loop_internal.h). The
 * outbound thread enters the namespace and opens the socket as the single
 * thread does; the inbound thread enters the namespace too, first thing
 * (setns is per thread), though it only uses fds the other one made. Each
 * thread has its own heartbeat and stall deadline (d->hb[0], d->hb[1]).
 *
 * Memory is fixed at creation; nothing on the packet path allocates except
 * IKE datagrams handed to JavaScript, whose queue is bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "loop_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include "udp.h"

#define TICK_MS 500
#define GRO_SLOT_SIZE (65536 + 512) /* a UDP GRO super-datagram */
#define GRO_MAX_BATCH 32

uint64_t dp_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void emit_error(struct dataplane *d, int tunnel, const char *message) {
    struct dp_event *ev = calloc(1, sizeof(*ev));
    if (!ev) return;
    ev->type = DP_EV_ERROR;
    ev->tunnel = tunnel;
    snprintf(ev->message, sizeof(ev->message), "%s", message);
    if (d->emit(d->emit_ctx, ev) != 0) {
        free(ev);
        event_dropped(d);
    }
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
        event_dropped(d);
        return;
    }
    *state = SA_EVENT_SENT;
}

static void tick(struct dataplane *d, uint64_t now) {
    for (struct dp_sa *sa = d->sas.all; sa; sa = sa->next) {
        sa_check_time(sa, now);
        if (sa_dead(sa)) {
            struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
            if (t && t->out == sa) t->out = sa_table_newest(&d->sas, sa->tunnel);
        }
        deliver(d, sa, DP_EV_SA_SOFT, &sa->soft_state, sa->soft_reason);
        deliver(d, sa, DP_EV_SA_HARD, &sa->hard_state, sa->hard_reason);
        deliver(d, sa, DP_EV_SA_SEQ, &sa->seq_state, 0);
    }
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

/* One beat of thread `i`, and the stall test hook: parks the thread (holding nothing) until the deadline. */
static void beat_and_stall(struct dataplane *d, int i) {
    __atomic_add_fetch(&d->hb[i].beat, 1, __ATOMIC_RELAXED);
    uint64_t stall = __atomic_load_n(&d->hb[i].stall_until_ms, __ATOMIC_RELAXED);
    if (stall) {
        __atomic_store_n(&d->hb[i].stall_until_ms, 0, __ATOMIC_RELAXED);
        for (uint64_t t = dp_now_ms(); t < stall && !__atomic_load_n(&d->stop, __ATOMIC_RELAXED); t = dp_now_ms()) {
            struct timespec nap = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
            nanosleep(&nap, NULL);
        }
    }
}

static inline int stopping(struct dataplane *d) { return __atomic_load_n(&d->stop, __ATOMIC_RELAXED); }

static void wake(int fd) {
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0) { /* already readable (counter saturated): it wakes anyway */ }
}

/* One wait of a packet thread: its events (n >= 0, 0 on EINTR or timeout) and a beat; -1 when epoll
 * itself failed, reported as `which` stopping the data plane. The caller counts the wake-up. */
static int wait_events(struct dataplane *d, int epfd, struct epoll_event *events, int max, int timeout, int beat,
                       const char *which) {
    int n = epoll_wait(epfd, events, max, timeout);
    if (n < 0 && errno != EINTR) {
        char message[160];
        snprintf(message, sizeof(message), "epoll_wait failed%s; the data plane stopped", which);
        emit_error(d, 0, message);
        return -1;
    }
    beat_and_stall(d, beat);
    return n < 0 ? 0 : n;
}

/* The single packet thread's loop (threads == 1): everything, no locks. */
static void single_loop(struct dataplane *d) {
    struct epoll_event events[DP_MAX_TUNNELS + 2];
    d->next_tick = dp_now_ms() + TICK_MS;
    while (!stopping(d)) {
        uint64_t now = dp_now_ms();
        int timeout = probe_run(d, now, now >= d->next_tick ? 0 : (int)(d->next_tick - now));
        int n = wait_events(d, d->epfd, events, DP_MAX_TUNNELS + 2, timeout, 0, "");
        if (n < 0) break;
        d->gout.wakeups++;
        for (int i = 0; i < n && !stopping(d); i++) {
            uint64_t key = events[i].data.u64;
            if (key == KEY_WAKE) {
                handle_wake(d);
            } else if (key == KEY_UDP) {
                udp_readable(d);
            } else {
                struct dp_tunnel *t = tunnel_by_id(d, (int)key);
                if (t && !tunnel_failed(t)) tun_readable(d, t);
            }
        }
        now = dp_now_ms();
        if (now >= d->next_tick) {
            tick(d, now);
            d->next_tick = now + TICK_MS;
        }
    }
}

/* The outbound thread's loop (threads == 2). */
static void out_loop(struct dataplane *d) {
    struct epoll_event events[DP_MAX_TUNNELS + 2];
    d->next_tick = dp_now_ms() + TICK_MS;
    int timeout = 0;
    while (!stopping(d)) {
        int n = wait_events(d, d->epfd, events, DP_MAX_TUNNELS + 2, timeout, 0, " (outbound thread)");
        if (n < 0) break;
        d->gout.wakeups++; /* snapshots read it on this thread */
        int command = 0;
        pthread_rwlock_rdlock(&d->tables);
        for (int i = 0; i < n && !stopping(d); i++) {
            uint64_t key = events[i].data.u64;
            if (key == KEY_WAKE) {
                command = 1;
            } else {
                struct dp_tunnel *t = tunnel_by_id(d, (int)key);
                if (t && !t->failed) tun_readable(d, t);
            }
        }
        uint64_t now = dp_now_ms();
        timeout = probe_run(d, now, now >= d->next_tick ? 0 : (int)(d->next_tick - now));
        pthread_rwlock_unlock(&d->tables);
        if (command || now >= d->next_tick) {
            pthread_rwlock_wrlock(&d->tables);
            if (command) handle_wake(d);
            now = dp_now_ms();
            if (now >= d->next_tick) {
                tick(d, now);
                d->next_tick = now + TICK_MS;
            }
            pthread_rwlock_unlock(&d->tables);
            /* A command may have started probes (SET_PROBE) or moved the tick: look again at once. */
            timeout = 0;
        }
    }
}

/* The inbound thread's loop (threads == 2). */
static void in_loop(struct dataplane *d) {
    struct epoll_event events[2];
    while (!stopping(d)) {
        int n = wait_events(d, d->in_epfd, events, 2, TICK_MS, 1, " (inbound thread)");
        if (n < 0) break;
        /* Under the read lock, the wake-up count too: snapshots (outbound thread, write lock) read it. */
        pthread_rwlock_rdlock(&d->tables);
        d->gin.wakeups++;
        for (int i = 0; i < n && !stopping(d); i++) {
            if (events[i].data.u64 == KEY_WAKE) {
                uint64_t v;
                if (read(d->in_wake_fd, &v, sizeof(v)) < 0) { /* nothing to read: a spurious wake-up */ }
            } else if (events[i].data.u64 == KEY_UDP) {
                udp_readable(d);
            }
        }
        pthread_rwlock_unlock(&d->tables);
    }
}

static void block_signals(void) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *in_main(void *arg) {
    struct dataplane *d = arg;
    block_signals();
    pthread_setname_np(pthread_self(), "cgwd-dp-in");
    int status = DP_OK, err = 0;
    /* Into the namespace as well: this thread creates nothing, but it must not act from another one. */
    if (d->netns_fd >= 0 && setns(d->netns_fd, CLONE_NEWNET) != 0) {
        status = DP_ERR_SYSTEM;
        err = errno;
    } else {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KEY_UDP};
        if (epoll_ctl(d->in_epfd, EPOLL_CTL_ADD, d->udp_fd, &ev) < 0) {
            status = DP_ERR_SYSTEM;
            err = errno;
        }
    }
    pthread_mutex_lock(&d->mu);
    d->in_startup_status = status;
    d->in_startup_errno = err;
    d->in_startup_done = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (status != DP_OK) return NULL;
    in_loop(d);
    /* Stopped by the outbound thread (STOP), or on its own (epoll failure): take the other one down too. */
    __atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
    wake(d->wake_fd);
    return NULL;
}

static void *thread_main(void *arg) {
    struct dataplane *d = arg;
    block_signals();
    pthread_setname_np(pthread_self(), d->threads == 2 ? "cgwd-dp-out" : "cgwd-dataplane");

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
    if (d->threads == 1) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KEY_UDP};
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->udp_fd, &ev) < 0) {
            int e = errno;
            snprintf(d->startup_error, sizeof(d->startup_error), "epoll_ctl: %s", strerror(e));
            startup_result(d, DP_ERR_SYSTEM, e);
            return NULL;
        }
    }
    startup_result(d, DP_OK, 0);

    if (d->threads == 2)
        out_loop(d);
    else
        single_loop(d);

    __atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
    if (d->in_wake_fd >= 0) wake(d->in_wake_fd);
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

int alloc_buffers(struct dataplane *d) {
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
    if (d->in_epfd >= 0) close(d->in_epfd);
    if (d->in_wake_fd >= 0) close(d->in_wake_fd);
    if (d->netns_fd >= 0) close(d->netns_fd);
    d->udp_fd = d->epfd = d->wake_fd = d->netns_fd = d->in_epfd = d->in_wake_fd = -1;
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
    if (d->tables_init) pthread_rwlock_destroy(&d->tables);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}

void dp_ike_consumed(struct dataplane *d, int bucket) {
    if (!d || bucket < 0 || bucket > DP_MAX_IKE_PEERS) return;
    __atomic_fetch_sub(&d->ike_queued[bucket], 1, __ATOMIC_RELAXED);
}

struct dataplane *dp_alloc(void) {
    size_t size = (sizeof(struct dataplane) + DP_CACHELINE - 1) / DP_CACHELINE * DP_CACHELINE;
    struct dataplane *d = aligned_alloc(DP_CACHELINE, size);
    if (d) memset(d, 0, sizeof(*d));
    return d;
}

struct dataplane *dp_create(const struct dp_options *o, dp_emit_fn emit, void *emit_ctx, int *status, int *sys_errno,
                            char *err, size_t err_len) {
    if (o->threads != 0 && o->threads != 1 && o->threads != 2) {
        *status = DP_ERR_ARG;
        *sys_errno = 0;
        snprintf(err, err_len, "threads must be 1 or 2");
        return NULL;
    }
    struct dataplane *d = dp_alloc();
    if (!d) {
        *status = DP_ERR_SYSTEM;
        *sys_errno = ENOMEM;
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->netns_fd = d->epfd = d->wake_fd = d->udp_fd = d->in_epfd = d->in_wake_fd = -1;
    d->threads = o->threads == 2 ? 2 : 1;
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
    {
        /* Three quarters of the queue for IKE (the rest stays for SA events), split evenly between
         * the configured peers, so a flood spoofing one peer's address cannot starve the other. */
        int queue = o->event_queue > 0 ? o->event_queue : 1024;
        int peers = o->ike_peer_count < 0 ? 0 : o->ike_peer_count > DP_MAX_IKE_PEERS ? DP_MAX_IKE_PEERS : o->ike_peer_count;
        int ike = queue * 3 / 4 > 0 ? queue * 3 / 4 : 1;
        d->ike_peer_count = peers;
        for (int i = 0; i < peers; i++) d->ike_peers[i] = o->ike_peers[i];
        d->ike_quota = peers > 0 ? (ike / peers > 0 ? ike / peers : 1) : ike;
    }
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
    if (d->threads == 2) {
        d->in_epfd = epoll_create1(EPOLL_CLOEXEC);
        d->in_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->in_epfd < 0 || d->in_wake_fd < 0 || epoll_ctl(d->in_epfd, EPOLL_CTL_ADD, d->in_wake_fd, &ev) < 0) {
            *sys_errno = errno;
            snprintf(err, err_len, "epoll/eventfd: %s", strerror(errno));
            goto fail;
        }
        /* Writer-preferring: a command (or tick) waiting for the lock holds back the next
         * batch of either thread, so a busy inbound thread cannot starve it. */
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        int lr = pthread_rwlock_init(&d->tables, &attr);
        pthread_rwlockattr_destroy(&attr);
        if (lr != 0) {
            *sys_errno = lr;
            snprintf(err, err_len, "pthread_rwlock_init: %s", strerror(lr));
            goto fail;
        }
        d->tables_init = 1;
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
    if (d->threads == 2) {
        r = pthread_create(&d->in_thread, NULL, in_main, d);
        if (r == 0) {
            d->in_thread_started = 1;
            pthread_mutex_lock(&d->mu);
            while (!d->in_startup_done) pthread_cond_wait(&d->cv, &d->mu);
            pthread_mutex_unlock(&d->mu);
        }
        if (r != 0 || d->in_startup_status != DP_OK) {
            int e = r != 0 ? r : d->in_startup_errno;
            *sys_errno = e;
            snprintf(err, err_len, "%s: %s", r != 0 ? "pthread_create" : "inbound thread start-up (setns/epoll_ctl)",
                     strerror(e));
            /* The outbound thread runs already: stop it the way dp_destroy does. */
            if (d->in_thread_started) pthread_join(d->in_thread, NULL);
            d->in_thread_started = 0;
            __atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
            wake(d->wake_fd);
            pthread_join(d->thread, NULL);
            d->thread_started = 0;
            goto fail;
        }
    }
    *status = DP_OK;
    return d;
fail:
    free_all(d);
    return NULL;
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

int dp_threads(const struct dataplane *d) { return d->threads; }

uint64_t dp_heartbeat_of(const struct dataplane *d, int thread) {
    if (thread < 0 || thread >= d->threads) return 0;
    return __atomic_load_n(&d->hb[thread].beat, __ATOMIC_RELAXED);
}

uint64_t dp_heartbeat(const struct dataplane *d) {
    uint64_t a = dp_heartbeat_of(d, 0);
    if (d->threads == 1) return a;
    uint64_t b = dp_heartbeat_of(d, 1);
    return a < b ? a : b;
}

void dp_stall(struct dataplane *d, uint32_t ms) {
    uint64_t until = dp_now_ms() + ms;
    /* Wake the threads so the stall starts now rather than at their next tick. */
    __atomic_store_n(&d->hb[0].stall_until_ms, until, __ATOMIC_RELAXED);
    wake(d->wake_fd);
    if (d->threads == 2) {
        __atomic_store_n(&d->hb[1].stall_until_ms, until, __ATOMIC_RELAXED);
        wake(d->in_wake_fd);
    }
}

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
    if (d->in_thread_started) {
        /* The outbound thread set stop and woke it on its way out. */
        pthread_join(d->in_thread, NULL);
        d->in_thread_started = 0;
    }
    free_all(d);
}
