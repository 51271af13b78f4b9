/*
 * Commands from JavaScript: dp_command hands one to the packet thread and
 * waits; the thread runs it between batches (handle_wake). With two packet
 * threads the outbound one runs it, holding the tables lock for writing, so
 * the inbound thread is outside its batch too (loop_internal.h). Also the
 * names of the drop counters that the snapshot carries, and the snapshot,
 * which adds up the outbound and the inbound side's copies of each counter.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "loop_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

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
    [DROP_IKE_FILTERED] = "ike_filtered",
};

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
    if (!tunnel_failed(t)) epoll_ctl(d->epfd, EPOLL_CTL_DEL, t->fd, NULL);
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

/* A held SA (installed inbound-only) may now send: the newest sendable SA carries the tunnel. */
static void run_release_sa(struct dataplane *d, struct dp_cmd *c) {
    struct dp_sa *sa = sa_table_find_id(&d->sas, c->sa_id);
    if (!sa) {
        cmd_fail(c, DP_ERR_NOT_FOUND, 0, "no such SA%s", "");
        return;
    }
    sa->held = 0;
    struct dp_tunnel *t = tunnel_by_id(d, sa->tunnel);
    if (t) t->out = sa_table_newest(&d->sas, sa->tunnel);
}

static void run_set_probe(struct dataplane *d, struct dp_cmd *c) {
    struct dp_tunnel *t = tunnel_by_id(d, c->tunnel.tunnel);
    if (!t) {
        cmd_fail(c, DP_ERR_NOT_FOUND, 0, "no such tunnel%s", "");
        return;
    }
    probe_configure(d, t, c->probe_target, c->probe_interval_ms);
    /* Wake at once for a first probe: the loop recomputes its timeout after this command. */
}

static void run_snapshot(struct dataplane *d, struct dp_cmd *c) {
    size_t n = d->sas.count;
    struct dp_snapshot *s = calloc(1, sizeof(*s) + n * sizeof(struct dp_sa_snapshot));
    if (!s) {
        cmd_fail(c, DP_ERR_SYSTEM, ENOMEM, "out of memory%s", "");
        return;
    }
    dp_counters_add(&s->global, &d->gout, &d->gin, sizeof(s->global));
    s->global.events_dropped = __atomic_load_n(&d->gout.events_dropped, __ATOMIC_RELAXED) + d->gin.events_dropped;
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
        ts->failed = tunnel_failed(t);
        ts->offload = t->vnet;
        ts->mss = t->o.mss;
        ts->clear_df = t->o.clear_df;
        ts->fragment = t->o.fragment;
        ts->has_outbound = t->out != NULL;
        ts->outbound_sa = t->out ? t->out->id : 0;
        dp_counters_add(&ts->ctr, &t->ctr, &t->ctr_in, sizeof(ts->ctr));
        dp_counters_add(&ts->extra, &t->extra, &t->extra_in, sizeof(ts->extra));
        ts->probe.on = (uint8_t)t->probe.on;
        ts->probe.target = t->probe.target;
        ts->probe.interval_ms = t->probe.interval_ms;
        ts->probe.sent = t->probe.sent;
        ts->probe.answered = t->probe.answered;
        ts->probe.lost = t->probe.lost;
        ts->probe.late = t->probe.late;
        ts->probe.last_rtt_us = t->probe.last_rtt_us;
        ts->probe.inbound_age_ms = t->last_inbound_ms ? (int64_t)(now - t->last_inbound_ms) : -1;
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
        ss->dead = sa_dead(sa);
        ss->soft_expired = sa->soft_state != SA_EVENT_NONE;
        sa_traffic_total(sa, &ss->ctr);
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
    case DP_CMD_RELEASE_SA: run_release_sa(d, c); break;
    case DP_CMD_SET_PROBE: run_set_probe(d, c); break;
    case DP_CMD_SNAPSHOT: run_snapshot(d, c); break;
    case DP_CMD_STOP: __atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED); break;
    }
}

void handle_wake(struct dataplane *d) {
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
