/*
 * cgwd data plane addon: the N-API face of the C data plane.
 *
 * Exports (test-only bindings live in a separate addon: testing_addon.c)
 *   opensslVersion(), abiVersion()      the skeleton's proofs (Node's own OpenSSL)
 *   Dataplane                           class: one packet thread, its UDP socket and TUNs
 *   dropReasons()                       the drop counter names, in C order
 *   sendUnixDatagram(path, data)        one AF_UNIX datagram (sd_notify, journal): 0 or errno
 *   Dataplane#heartbeat()               packet-thread loop iterations (atomic read, no waiting; two threads: the smaller)
 *   Dataplane#heartbeats()              the same per packet thread: [n] or [outbound, inbound]
 *   Dataplane#stallForTesting(ms)       parks the packet thread (watchdog tests only)
 *
 * Argument validation proper lives in TypeScript (src/dataplane); this layer
 * re-checks types and ranges so a bad call throws instead of corrupting memory.
 * Errors carry a `code`: DP_BAD_ARG, DP_EXISTS, DP_NOT_FOUND, DP_CLOSED,
 * DP_SYSTEM (with `errno` and `errnoName`). Messages never contain key material.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "napi_dp.h"
#include "probe.h"
#include "napi_rtnl.h"
#include "napi_util.h"
#include "notify.h"
#include "sa.h"

static const char *status_code(int status) {
    switch (status) {
    case DP_ERR_ARG: return "DP_BAD_ARG";
    case DP_ERR_EXISTS: return "DP_EXISTS";
    case DP_ERR_NOT_FOUND: return "DP_NOT_FOUND";
    case DP_ERR_CLOSED: return "DP_CLOSED";
    default: return "DP_SYSTEM";
    }
}

static void throw_status(napi_env env, int status, int sys_errno, const char *message) {
    napi_value code, msg, err;
    napi_create_string_utf8(env, status_code(status), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, message && *message ? message : "data plane error", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &err);
    if (status == DP_ERR_SYSTEM && sys_errno) {
        napi_value n;
        napi_create_int32(env, sys_errno, &n);
        napi_set_named_property(env, err, "errno", n);
        const char *name = strerrorname_np(sys_errno);
        if (name) set_str(env, err, "errnoName", name);
    }
    napi_throw(env, err);
}

/* ---- counters to JavaScript ---- */

static napi_value snapshot_obj(napi_env env, const struct dp_snapshot *s) {
    napi_value root, tunnels, sas;
    napi_create_object(env, &root);
    const struct dp_global *g = &s->global;
    set_u64(env, root, "udpDatagramsIn", g->udp_datagrams_in);
    set_u64(env, root, "udpDatagramsOut", g->udp_datagrams_out);
    set_u64(env, root, "espIn", g->esp_in);
    set_u64(env, root, "keepalivesIn", g->keepalives_in);
    set_u64(env, root, "ikeIn", g->ike_in);
    set_u64(env, root, "ikeOut", g->ike_out);
    set_u64(env, root, "ikeDropped", g->ike_dropped);
    set_u64(env, root, "ikeFiltered", g->ike_filtered);
    set_u64(env, root, "eventsDropped", g->events_dropped);
    set_u64(env, root, "tunPacketsIn", g->tun_packets_in);
    set_u64(env, root, "wakeups", g->wakeups);
    set_u64(env, root, "udpGsoSends", g->udp_gso_sends);
    set_u64(env, root, "udpGroReceives", g->udp_gro_receives);
    set_bool(env, root, "udpGso", s->udp_gso);
    set_bool(env, root, "udpGro", s->udp_gro);
    set_named(env, root, "drops", drops_obj(env, g->drops));

    napi_create_array_with_length(env, (size_t)s->tunnel_count, &tunnels);
    for (int i = 0; i < s->tunnel_count; i++) {
        const struct dp_tunnel_snapshot *t = &s->tunnels[i];
        napi_value o, v;
        napi_create_object(env, &o);
        set_u64(env, o, "tunnel", (uint64_t)t->tunnel);
        set_str(env, o, "ifname", t->ifname);
        set_u64(env, o, "ifindex", (uint64_t)t->ifindex);
        set_u64(env, o, "mtu", (uint64_t)t->mtu);
        set_u64(env, o, "pathMtu", (uint64_t)t->path_mtu);
        set_bool(env, o, "failed", t->failed);
        set_bool(env, o, "offload", t->offload);
        if (t->has_outbound) {
            set_u64(env, o, "outboundSa", t->outbound_sa);
        } else {
            napi_get_null(env, &v);
            set_named(env, o, "outboundSa", v);
        }
        set_traffic(env, o, &t->ctr);
        set_u64(env, o, "mssClamped", t->extra.mss_clamped);
        set_u64(env, o, "dfCleared", t->extra.df_cleared);
        set_u64(env, o, "fragmented", t->extra.fragmented);
        set_u64(env, o, "fragmentsOut", t->extra.fragments_out);
        set_u64(env, o, "icmpFragNeeded", t->extra.icmp_frag_needed);
        set_u64(env, o, "tsoPackets", t->extra.tso_packets);
        set_u64(env, o, "groPackets", t->extra.gro_packets);
        {
            napi_value p;
            napi_create_object(env, &p);
            char target[INET_ADDRSTRLEN] = "";
            struct in_addr ta = {.s_addr = t->probe.target};
            inet_ntop(AF_INET, &ta, target, sizeof(target));
            set_bool(env, p, "on", t->probe.on);
            set_str(env, p, "target", target);
            set_u64(env, p, "intervalMs", t->probe.interval_ms);
            set_u64(env, p, "sent", t->probe.sent);
            set_u64(env, p, "answered", t->probe.answered);
            set_u64(env, p, "lost", t->probe.lost);
            set_u64(env, p, "late", t->probe.late);
            napi_value v2;
            napi_create_double(env, (double)t->probe.last_rtt_us / 1000.0, &v2);
            set_named(env, p, "lastRttMs", v2);
            if (t->probe.inbound_age_ms >= 0) {
                napi_create_double(env, (double)t->probe.inbound_age_ms, &v2);
            } else {
                napi_get_null(env, &v2);
            }
            set_named(env, p, "inboundAgeMs", v2);
            set_named(env, o, "probe", p);
        }
        napi_set_element(env, tunnels, (uint32_t)i, o);
    }
    set_named(env, root, "tunnels", tunnels);

    napi_create_array_with_length(env, s->sa_count, &sas);
    for (size_t i = 0; i < s->sa_count; i++) {
        const struct dp_sa_snapshot *a = &s->sas[i];
        napi_value o;
        napi_create_object(env, &o);
        set_u64(env, o, "id", a->id);
        set_u64(env, o, "tunnel", (uint64_t)a->tunnel);
        set_u64(env, o, "spiIn", a->spi_in);
        set_u64(env, o, "spiOut", a->spi_out);
        set_str(env, o, "encryption", a->encryption);
        set_str(env, o, "integrity", a->integrity);
        set_u64(env, o, "seqOut", a->seq_out);
        set_u64(env, o, "replayTop", a->replay_top);
        set_u64(env, o, "replayWindow", a->replay_window);
        set_u64(env, o, "ageMs", a->age_ms);
        set_bool(env, o, "outbound", a->outbound);
        set_bool(env, o, "hardExpired", a->dead);
        set_bool(env, o, "softExpired", a->soft_expired);
        set_traffic(env, o, &a->ctr);
        napi_set_element(env, sas, (uint32_t)i, o);
    }
    set_named(env, root, "sas", sas);
    return root;
}

/* ---- the Dataplane class ---- */

struct js_dataplane {
    struct dataplane *dp;
    napi_threadsafe_function tsfn;
    napi_env env;
    int closed;
    int hook_added;
};


/* Runs on the JavaScript thread for each queued event. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
    struct js_dataplane *w = context;
    struct dp_event *ev = data;
    if (ev->type == DP_EV_IKE && w && w->dp) dp_ike_consumed(w->dp, ev->ike_bucket);
    if (!env || !js_cb) {
        free(ev);
        return;
    }
    napi_value o, undefined;
    napi_create_object(env, &o);
    switch (ev->type) {
    case DP_EV_IKE: {
        char addr[INET_ADDRSTRLEN] = "";
        inet_ntop(AF_INET, &ev->from.sin_addr, addr, sizeof(addr));
        napi_value buf;
        void *copy;
        set_str(env, o, "type", "ike-datagram");
        set_str(env, o, "address", addr);
        set_u64(env, o, "port", ntohs(ev->from.sin_port));
        napi_create_buffer_copy(env, ev->len, ev->data, &copy, &buf);
        set_named(env, o, "data", buf);
        break;
    }
    case DP_EV_SA_SOFT:
    case DP_EV_SA_HARD:
        set_str(env, o, "type", ev->type == DP_EV_SA_SOFT ? "sa-soft-expired" : "sa-hard-expired");
        set_u64(env, o, "id", ev->sa_id);
        set_u64(env, o, "tunnel", (uint64_t)ev->tunnel);
        set_str(env, o, "reason", reason_name(ev->reason));
        break;
    case DP_EV_SA_SEQ:
        set_str(env, o, "type", "sa-seq-exhausting");
        set_u64(env, o, "id", ev->sa_id);
        set_u64(env, o, "tunnel", (uint64_t)ev->tunnel);
        set_u64(env, o, "seq", ev->seq);
        break;
    case DP_EV_PROBE:
        set_str(env, o, "type", "probe");
        set_u64(env, o, "tunnel", (uint64_t)ev->tunnel);
        set_u64(env, o, "seq", ev->seq);
        if (ev->rtt_us >= 0) {
            napi_value rtt;
            napi_create_double(env, (double)ev->rtt_us / 1000.0, &rtt);
            set_named(env, o, "rttMs", rtt);
        }
        set_u64(env, o, "inbound", ev->inbound);
        break;
    case DP_EV_ERROR:
        set_str(env, o, "type", "error");
        set_u64(env, o, "tunnel", (uint64_t)ev->tunnel);
        set_str(env, o, "message", ev->message);
        break;
    }
    free(ev);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, js_cb, 1, &o, NULL);
}

/* Runs on the packet thread: never blocks; a full queue is the caller's drop. */
static int emit_event(void *ctx, struct dp_event *ev) {
    struct js_dataplane *w = ctx;
    return napi_call_threadsafe_function(w->tsfn, ev, napi_tsfn_nonblocking) == napi_ok ? 0 : 1;
}

static void shutdown_dataplane(struct js_dataplane *w) {
    if (w->closed) return;
    w->closed = 1;
    dp_destroy(w->dp);
    w->dp = NULL;
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
}

static void env_cleanup(void *arg) {
    struct js_dataplane *w = arg;
    w->hook_added = 0;
    shutdown_dataplane(w);
}

static void finalize_dataplane(napi_env env, void *data, void *hint) {
    (void)hint;
    struct js_dataplane *w = data;
    if (w->hook_added) napi_remove_env_cleanup_hook(env, env_cleanup, w);
    w->hook_added = 0;
    shutdown_dataplane(w);
    free(w);
}

static struct js_dataplane *unwrap_open(napi_env env, napi_value self) {
    struct js_dataplane *w = NULL;
    if (napi_unwrap(env, self, (void **)&w) != napi_ok || !w) {
        napi_util_throw(env, "DP_BAD_ARG", "not a Dataplane");
        return NULL;
    }
    if (w->closed) {
        napi_util_throw(env, "DP_CLOSED", "data plane is closed");
        return NULL;
    }
    return w;
}

/* new Dataplane({ netns?, address, port, batch?, rcvbuf?, sndbuf?, eventQueue?, tunOffload?, udpOffload? }, onEvent) */
static napi_value dataplane_new(napi_env env, napi_callback_info info) {
    ARGS(2);
    napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
    if (argc >= 1) napi_typeof(env, argv[0], &t0);
    if (argc >= 2) napi_typeof(env, argv[1], &t1);
    if (t0 != napi_object || t1 != napi_function) {
        napi_util_throw(env, "DP_BAD_ARG", "new Dataplane(options, onEvent)");
        return NULL;
    }
    char netns[256] = "", address[64] = "0.0.0.0";
    uint32_t port = 4500, batch = 64, event_queue = 1024, threads = 1;
    int32_t rcvbuf = 4 << 20, sndbuf = 4 << 20;
    int tun_offload = 1, udp_offload = 1;
    int has_netns = get_string(env, argv[0], "netns", netns, sizeof(netns));
    if (has_netns < 0 || get_string(env, argv[0], "address", address, sizeof(address)) < 0 ||
        get_u32(env, argv[0], "port", &port) < 0 || get_u32(env, argv[0], "batch", &batch) < 0 ||
        get_i32(env, argv[0], "rcvbuf", &rcvbuf) < 0 || get_i32(env, argv[0], "sndbuf", &sndbuf) < 0 ||
        get_u32(env, argv[0], "eventQueue", &event_queue) < 0 || get_u32(env, argv[0], "threads", &threads) < 0 ||
        get_bool(env, argv[0], "tunOffload", &tun_offload) < 0 || get_bool(env, argv[0], "udpOffload", &udp_offload) < 0)
        return NULL;
    uint32_t ike_peers[DP_MAX_IKE_PEERS];
    int ike_peer_count = 0;
    {
        bool has = false;
        napi_value list;
        if (napi_has_named_property(env, argv[0], "ikePeers", &has) != napi_ok) return NULL;
        if (has) {
            bool is_array = false;
            uint32_t n = 0;
            napi_get_named_property(env, argv[0], "ikePeers", &list);
            napi_is_array(env, list, &is_array);
            if (!is_array || napi_get_array_length(env, list, &n) != napi_ok || n > DP_MAX_IKE_PEERS) {
                napi_util_throw(env, "DP_BAD_ARG", "ikePeers must be an array of at most 8 IPv4 addresses");
                return NULL;
            }
            for (uint32_t i = 0; i < n; i++) {
                napi_value item;
                char text[64] = "";
                size_t got = 0;
                napi_get_element(env, list, i, &item);
                if (napi_get_value_string_utf8(env, item, text, sizeof(text), &got) != napi_ok) {
                    napi_util_throw(env, "DP_BAD_ARG", "ikePeers must be an array of at most 8 IPv4 addresses");
                    return NULL;
                }
                if (parse_ipv4(env, text, "ikePeers", &ike_peers[i]) != 0) return NULL;
            }
            ike_peer_count = (int)n;
        }
    }
    if (port > 65535 || batch < 1 || batch > DP_MAX_BATCH || event_queue < 1 || event_queue > 1u << 20) {
        napi_util_throw(env, "DP_BAD_ARG", "port, batch or eventQueue out of range");
        return NULL;
    }
    if (threads != 1 && threads != 2) {
        napi_util_throw(env, "DP_BAD_ARG", "threads must be 1 or 2");
        return NULL;
    }
    struct dp_options o;
    memset(&o, 0, sizeof(o));
    o.netns = has_netns == 0 && netns[0] ? netns : NULL;
    o.local.sin_family = AF_INET;
    o.local.sin_port = htons((uint16_t)port);
    if (parse_ipv4(env, address, "address", &o.local.sin_addr.s_addr) != 0) return NULL;
    o.batch = (int)batch;
    o.rcvbuf = rcvbuf;
    o.sndbuf = sndbuf;
    o.tun_offload = tun_offload;
    o.udp_offload = udp_offload;
    o.event_queue = (int)event_queue;
    o.threads = (int)threads;
    o.ike_peer_count = ike_peer_count;
    for (int i = 0; i < ike_peer_count; i++) o.ike_peers[i] = ike_peers[i];

    struct js_dataplane *w = calloc(1, sizeof(*w));
    if (!w) {
        napi_util_throw(env, "DP_SYSTEM", "out of memory");
        return NULL;
    }
    w->env = env;
    napi_value name;
    napi_create_string_utf8(env, "cgwd-dataplane-events", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, argv[1], NULL, name, event_queue, 1, NULL, NULL, w, call_js, &w->tsfn) !=
        napi_ok) {
        free(w);
        napi_util_throw_last(env);
        return NULL;
    }
    /* Like an unref'd socket: an open data plane alone does not keep Node alive. */
    napi_unref_threadsafe_function(env, w->tsfn);

    int status = DP_OK, sys_errno = 0;
    char err[256] = "";
    w->dp = dp_create(&o, emit_event, w, &status, &sys_errno, err, sizeof(err));
    if (!w->dp) {
        napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
        free(w);
        throw_status(env, status, sys_errno, err);
        return NULL;
    }
    if (napi_wrap(env, self, w, finalize_dataplane, NULL, NULL) != napi_ok) {
        w->closed = 1;
        dp_destroy(w->dp);
        napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
        free(w);
        napi_util_throw_last(env);
        return NULL;
    }
    if (napi_add_env_cleanup_hook(env, env_cleanup, w) == napi_ok) w->hook_added = 1;
    return self;
}

static int run(napi_env env, struct js_dataplane *w, struct dp_cmd *c) {
    int status = dp_command(w->dp, c);
    if (status != DP_OK) throw_status(env, status, c->sys_errno, c->error);
    return status;
}

static void free_sas(struct dp_sa *sa) {
    while (sa) {
        struct dp_sa *next = sa->next;
        sa_destroy(sa);
        sa = next;
    }
}

static int parse_tunnel_flags(napi_env env, napi_value obj, struct dp_tunnel_options *t) {
    uint32_t mss = t->mss, path_mtu = (uint32_t)t->path_mtu;
    int clear_df = t->clear_df, fragment = t->fragment;
    if (get_u32(env, obj, "mss", &mss) < 0 || get_bool(env, obj, "clearDf", &clear_df) < 0 ||
        get_bool(env, obj, "fragment", &fragment) < 0 || get_u32(env, obj, "pathMtu", &path_mtu) < 0)
        return -1;
    if (mss > 65535 || path_mtu < 576 || path_mtu > 65535) {
        napi_util_throw(env, "DP_BAD_ARG", "mss or pathMtu out of range");
        return -1;
    }
    t->mss = (uint16_t)mss;
    t->clear_df = (uint8_t)clear_df;
    t->fragment = (uint8_t)fragment;
    t->path_mtu = (int)path_mtu;
    return 0;
}

/* addTunnel({ tunnel, ifname, mtu, address, prefixLength, peer, txQueueLength?, disableIpv6?, mss?, clearDf?,
 *             fragment?, pathMtu? }) -> { ifindex } */
static napi_value dataplane_add_tunnel(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    if (argc < 1) {
        napi_util_throw(env, "DP_BAD_ARG", "addTunnel(options)");
        return NULL;
    }
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_ADD_TUNNEL;
    struct dp_tunnel_options *t = &c.tunnel;
    int32_t tunnel = 0, mtu = 1500, prefix = 30, txq = 0;
    int disable_ipv6 = 1;
    char address[64] = "", peer[64] = "";
    t->path_mtu = 1500;
    if (get_i32(env, argv[0], "tunnel", &tunnel) != 0 ||
        get_string(env, argv[0], "ifname", t->ifname, sizeof(t->ifname)) != 0 ||
        get_string(env, argv[0], "address", address, sizeof(address)) != 0 ||
        get_string(env, argv[0], "peer", peer, sizeof(peer)) != 0) {
        napi_util_throw(env, "DP_BAD_ARG", "addTunnel needs tunnel, ifname, address and peer");
        return NULL;
    }
    if (get_i32(env, argv[0], "mtu", &mtu) < 0 || get_i32(env, argv[0], "prefixLength", &prefix) < 0 ||
        get_i32(env, argv[0], "txQueueLength", &txq) < 0 || get_bool(env, argv[0], "disableIpv6", &disable_ipv6) < 0 ||
        parse_tunnel_flags(env, argv[0], t) != 0)
        return NULL;
    if (tunnel < 1 || tunnel > DP_MAX_TUNNELS || mtu < 576 || mtu > DP_MAX_PKT || prefix < 0 || prefix > 32 ||
        txq < 0 || !t->ifname[0]) {
        napi_util_throw(env, "DP_BAD_ARG", "tunnel, ifname, mtu, prefixLength or txQueueLength out of range");
        return NULL;
    }
    t->tunnel = tunnel;
    t->mtu = mtu;
    t->prefix_len = prefix;
    t->txqueuelen = txq;
    t->disable_ipv6 = disable_ipv6;
    if (parse_ipv4(env, address, "address", &t->address) != 0 || parse_ipv4(env, peer, "peer", &t->peer) != 0)
        return NULL;
    if (run(env, w, &c) != DP_OK) return NULL;
    napi_value o;
    napi_create_object(env, &o);
    set_u64(env, o, "ifindex", (uint64_t)c.ifindex);
    return o;
}

/* setTunnelOptions(tunnel, { mss?, clearDf?, fragment?, pathMtu? }) — unspecified fields reset to defaults */
static napi_value dataplane_set_tunnel(napi_env env, napi_callback_info info) {
    ARGS(2);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_SET_TUNNEL;
    int32_t tunnel = 0;
    if (argc < 2 || napi_get_value_int32(env, argv[0], &tunnel) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "setTunnelOptions(tunnel, options)");
        return NULL;
    }
    c.tunnel.tunnel = tunnel;
    c.tunnel.path_mtu = 1500;
    if (parse_tunnel_flags(env, argv[1], &c.tunnel) != 0) return NULL;
    run(env, w, &c);
    return NULL;
}

static napi_value dataplane_remove_tunnel(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_REMOVE_TUNNEL;
    if (argc < 1 || napi_get_value_int32(env, argv[0], &c.tunnel.tunnel) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "removeTunnel(tunnel)");
        return NULL;
    }
    int status = run(env, w, &c);
    free_sas(c.freed);
    (void)status;
    return NULL;
}

/* setProbe(tunnel, intervalMs, target?) : keepalive probes in the data plane (probe.c); intervalMs 0 stops them. */
static napi_value dataplane_set_probe(napi_env env, napi_callback_info info) {
    ARGS(3);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_SET_PROBE;
    if (argc < 2 || napi_get_value_int32(env, argv[0], &c.tunnel.tunnel) != napi_ok ||
        napi_get_value_uint32(env, argv[1], &c.probe_interval_ms) != napi_ok ||
        (c.probe_interval_ms != 0 &&
         (c.probe_interval_ms < PROBE_MIN_INTERVAL_MS || c.probe_interval_ms > PROBE_MAX_INTERVAL_MS))) {
        napi_util_throw(env, "DP_BAD_ARG", "setProbe(tunnel, intervalMs 0 or 10..3600000, target?)");
        return NULL;
    }
    napi_valuetype type = napi_undefined;
    if (argc >= 3) napi_typeof(env, argv[2], &type);
    if (type == napi_string) {
        char target[64];
        size_t len = 0;
        if (napi_get_value_string_utf8(env, argv[2], target, sizeof(target), &len) != napi_ok) return NULL;
        if (parse_ipv4(env, target, "target", &c.probe_target) != 0) return NULL;
    } else if (type != napi_undefined && type != napi_null) {
        napi_util_throw(env, "DP_BAD_ARG", "setProbe: target must be an IPv4 address string");
        return NULL;
    }
    run(env, w, &c);
    return NULL;
}

static napi_value dataplane_install_sa(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    if (argc < 1) {
        napi_util_throw(env, "DP_BAD_ARG", "installSa(sa)");
        return NULL;
    }
    struct dp_sa *sa = create_sa(env, argv[0]);
    if (!sa) return NULL;
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_INSTALL_SA;
    c.sa = sa;
    if (run(env, w, &c) != DP_OK) sa_destroy(sa);
    return NULL;
}

/* removeSa(id) / releaseSa(id) -> true when it was installed */
static napi_value sa_by_id_command(napi_env env, napi_callback_info info, enum dp_cmd_type type, const char *usage) {
    ARGS(1);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = type;
    if (argc < 1 || napi_get_value_uint32(env, argv[0], &c.sa_id) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", usage);
        return NULL;
    }
    int status = dp_command(w->dp, &c);
    free_sas(c.freed);
    if (status != DP_OK && status != DP_ERR_NOT_FOUND) {
        throw_status(env, status, c.sys_errno, c.error);
        return NULL;
    }
    napi_value r;
    napi_get_boolean(env, status == DP_OK, &r);
    return r;
}

static napi_value dataplane_remove_sa(napi_env env, napi_callback_info info) {
    return sa_by_id_command(env, info, DP_CMD_REMOVE_SA, "removeSa(id)");
}

static napi_value dataplane_release_sa(napi_env env, napi_callback_info info) {
    return sa_by_id_command(env, info, DP_CMD_RELEASE_SA, "releaseSa(id)");
}

/* sendUdp(address, port, data, ikeMarker) -> 0 or an errno value */
static napi_value dataplane_send_udp(napi_env env, napi_callback_info info) {
    ARGS(4);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    char address[64];
    size_t alen = 0;
    uint32_t port = 0;
    bool marker = false;
    uint8_t *data;
    size_t len;
    if (argc < 4 || napi_get_value_string_utf8(env, argv[0], address, sizeof(address), &alen) != napi_ok ||
        napi_get_value_uint32(env, argv[1], &port) != napi_ok || port == 0 || port > 65535 ||
        napi_get_value_bool(env, argv[3], &marker) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "sendUdp(address, port, data, ikeMarker)");
        return NULL;
    }
    if (value_bytes(env, argv[2], "data", &data, &len) != 0) return NULL;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (parse_ipv4(env, address, "address", &to.sin_addr.s_addr) != 0) return NULL;
    int e = dp_send_udp(w->dp, &to, data, len, marker);
    napi_value r;
    napi_create_int32(env, e, &r);
    return r;
}

static napi_value dataplane_counters(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_SNAPSHOT;
    if (run(env, w, &c) != DP_OK) return NULL;
    napi_value o = snapshot_obj(env, c.snapshot);
    free(c.snapshot);
    return o;
}

static napi_value dataplane_local_address(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    struct sockaddr_in a = dp_local_address(w->dp);
    char addr[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &a.sin_addr, addr, sizeof(addr));
    napi_value o;
    napi_create_object(env, &o);
    set_str(env, o, "address", addr);
    set_u64(env, o, "port", ntohs(a.sin_port));
    return o;
}

/* heartbeat() -> loop iterations so far; never waits for the packet thread. */
static napi_value dataplane_heartbeat(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    napi_value r;
    napi_create_double(env, (double)dp_heartbeat(w->dp), &r);
    return r;
}

/* heartbeats() -> one count per packet thread ([outbound, inbound] with two); never waits. */
static napi_value dataplane_heartbeats(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    int n = dp_threads(w->dp);
    napi_value r;
    napi_create_array_with_length(env, (size_t)n, &r);
    for (int i = 0; i < n; i++) {
        napi_value v;
        napi_create_double(env, (double)dp_heartbeat_of(w->dp, i), &v);
        napi_set_element(env, r, (uint32_t)i, v);
    }
    return r;
}

/* stallForTesting(ms): the packet thread sleeps for ms (at most 60 s); returns at once. */
static napi_value dataplane_stall(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_dataplane *w = unwrap_open(env, self);
    if (!w) return NULL;
    uint32_t ms = 0;
    if (argc < 1 || napi_get_value_uint32(env, argv[0], &ms) != napi_ok || ms == 0 || ms > 60000) {
        napi_util_throw(env, "DP_BAD_ARG", "stallForTesting(ms), 1..60000");
        return NULL;
    }
    dp_stall(w->dp, ms);
    return NULL;
}

static napi_value dataplane_close(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct js_dataplane *w = NULL;
    if (napi_unwrap(env, self, (void **)&w) != napi_ok || !w) return NULL;
    if (w->hook_added) napi_remove_env_cleanup_hook(env, env_cleanup, w);
    w->hook_added = 0;
    shutdown_dataplane(w);
    return NULL;
}

/* ---- module ---- */

/* sendUnixDatagram(path, data) -> 0 or an errno value; '@' starts an abstract name. */
static napi_value send_unix_datagram(napi_env env, napi_callback_info info) {
    ARGS(2);
    (void)self;
    char path[128];
    size_t plen = 0;
    uint8_t *data;
    size_t len;
    if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &plen) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "sendUnixDatagram(path, data)");
        return NULL;
    }
    if (plen >= sizeof(path) - 1) {
        napi_util_throw(env, "DP_BAD_ARG", "sendUnixDatagram: path too long");
        return NULL;
    }
    if (value_bytes(env, argv[1], "data", &data, &len) != 0) return NULL;
    napi_value r;
    napi_create_int32(env, unix_dgram_send(path, data, len), &r);
    return r;
}

static napi_value openssl_version(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value result;
    const char *text = OpenSSL_version(OPENSSL_VERSION);
    if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result) != napi_ok) return NULL;
    return result;
}

static napi_value addon_abi(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value result;
    if (napi_create_uint32(env, 1, &result) != napi_ok) return NULL;
    return result;
}

static napi_value drop_reasons(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value arr;
    napi_create_array_with_length(env, DROP_COUNT, &arr);
    for (uint32_t i = 0; i < DROP_COUNT; i++) {
        napi_value s;
        napi_create_string_utf8(env, drop_reason_name[i], NAPI_AUTO_LENGTH, &s);
        napi_set_element(env, arr, i, s);
    }
    return arr;
}

static napi_value init(napi_env env, napi_value exports) {
    napi_property_descriptor props[] = {
        {"opensslVersion", NULL, openssl_version, NULL, NULL, NULL, napi_enumerable, NULL},
        {"abiVersion", NULL, addon_abi, NULL, NULL, NULL, napi_enumerable, NULL},
        {"dropReasons", NULL, drop_reasons, NULL, NULL, NULL, napi_enumerable, NULL},
        {"sendUnixDatagram", NULL, send_unix_datagram, NULL, NULL, NULL, napi_enumerable, NULL},
        {"routeBatch", NULL, rtnl_route_batch_js, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    NAPI_TRY(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));

    napi_property_descriptor dp_methods[] = {
        METHOD("addTunnel", dataplane_add_tunnel),     METHOD("setTunnelOptions", dataplane_set_tunnel),
        METHOD("removeTunnel", dataplane_remove_tunnel), METHOD("installSa", dataplane_install_sa),
        METHOD("setProbe", dataplane_set_probe),
        METHOD("removeSa", dataplane_remove_sa),       METHOD("releaseSa", dataplane_release_sa),       METHOD("sendUdp", dataplane_send_udp),
        METHOD("counters", dataplane_counters),        METHOD("localAddress", dataplane_local_address),
        METHOD("heartbeat", dataplane_heartbeat), METHOD("heartbeats", dataplane_heartbeats),      METHOD("stallForTesting", dataplane_stall),
        METHOD("close", dataplane_close),
    };
    napi_value dp_class;
    NAPI_TRY(env, napi_define_class(env, "Dataplane", NAPI_AUTO_LENGTH, dataplane_new, NULL,
                                    sizeof(dp_methods) / sizeof(dp_methods[0]), dp_methods, &dp_class));
    NAPI_TRY(env, napi_set_named_property(env, exports, "Dataplane", dp_class));
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
