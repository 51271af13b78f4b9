/* See napi_dp.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "napi_dp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dataplane.h"
#include "napi_util.h"
#include "replay.h"

int parse_ipv4(napi_env env, const char *text, const char *what, uint32_t *out) {
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be a dotted-quad IPv4 address", what);
        napi_util_throw(env, "DP_BAD_ARG", msg);
        return -1;
    }
    *out = a.s_addr;
    return 0;
}

struct sa_spec {
    struct sa_params p;
    char encryption[32], integrity[32], remote[64];
};

static int parse_sa_spec(napi_env env, napi_value obj, struct sa_spec *s) {
    memset(s, 0, sizeof(*s));
    struct sa_params *p = &s->p;
    int32_t tunnel = 1;
    uint32_t port = 4500;
    if (get_u32(env, obj, "id", &p->id) != 0) goto missing;
    if (get_i32(env, obj, "tunnel", &tunnel) < 0) return -1;
    if (get_u32(env, obj, "spiIn", &p->spi_in) != 0) goto missing;
    if (get_u32(env, obj, "spiOut", &p->spi_out) != 0) goto missing;
    if (get_string(env, obj, "encryption", s->encryption, sizeof(s->encryption)) != 0) goto missing;
    int r = get_string(env, obj, "integrity", s->integrity, sizeof(s->integrity));
    if (r < 0) return -1;
    if (get_bytes(env, obj, "encKeyIn", &p->enc_key_in, &p->enc_key_in_len) != 0) goto missing;
    if (get_bytes(env, obj, "encKeyOut", &p->enc_key_out, &p->enc_key_out_len) != 0) goto missing;
    if (get_bytes(env, obj, "integKeyIn", &p->integ_key_in, &p->integ_key_in_len) < 0) return -1;
    if (get_bytes(env, obj, "integKeyOut", &p->integ_key_out, &p->integ_key_out_len) < 0) return -1;
    snprintf(s->remote, sizeof(s->remote), "0.0.0.0");
    if (get_string(env, obj, "remoteAddress", s->remote, sizeof(s->remote)) < 0) return -1;
    if (get_u32(env, obj, "remotePort", &port) < 0) return -1;
    if (get_u32(env, obj, "replayWindow", &p->replay_window) < 0) return -1;
    if (get_u64(env, obj, "softBytes", &p->soft_bytes) < 0 || get_u64(env, obj, "hardBytes", &p->hard_bytes) < 0 ||
        get_u64(env, obj, "softPackets", &p->soft_packets) < 0 ||
        get_u64(env, obj, "hardPackets", &p->hard_packets) < 0 || get_u64(env, obj, "softMs", &p->soft_ms) < 0 ||
        get_u64(env, obj, "hardMs", &p->hard_ms) < 0 || get_u64(env, obj, "initialSequence", &p->initial_seq) < 0 ||
        get_bool(env, obj, "holdOutbound", &p->hold_outbound) < 0)
        return -1;
    if (tunnel < 1 || tunnel > DP_MAX_TUNNELS || port > 65535 || p->replay_window > REPLAY_MAX_BITS ||
        p->initial_seq > SA_SEQ_MAX) {
        napi_util_throw(env, "DP_BAD_ARG", "SA tunnel, remotePort, replayWindow or initialSequence out of range");
        return -1;
    }
    p->tunnel = tunnel;
    p->encryption = s->encryption;
    p->integrity = r == 0 && s->integrity[0] ? s->integrity : NULL;
    p->remote.sin_family = AF_INET;
    p->remote.sin_port = htons((uint16_t)port);
    if (parse_ipv4(env, s->remote, "remoteAddress", &p->remote.sin_addr.s_addr) != 0) return -1;
    return 0;
missing : {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending)
        napi_util_throw(env, "DP_BAD_ARG", "SA needs id, spiIn, spiOut, encryption, encKeyIn and encKeyOut");
    return -1;
}
}

struct dp_sa *create_sa(napi_env env, napi_value spec) {
    struct sa_spec s;
    if (parse_sa_spec(env, spec, &s) != 0) return NULL;
    char err[160];
    struct dp_sa *sa = sa_create(&s.p, dp_now_ms(), err, sizeof(err));
    if (!sa) napi_util_throw(env, "DP_BAD_ARG", err);
    return sa;
}

napi_value drops_obj(napi_env env, const uint64_t *drops) {
    napi_value o;
    napi_create_object(env, &o);
    for (int i = 0; i < DROP_COUNT; i++) set_u64(env, o, drop_reason_name[i], drops[i]);
    return o;
}

void set_traffic(napi_env env, napi_value o, const struct dp_traffic *t) {
    set_u64(env, o, "packetsIn", t->packets_in);
    set_u64(env, o, "bytesIn", t->bytes_in);
    set_u64(env, o, "packetsOut", t->packets_out);
    set_u64(env, o, "bytesOut", t->bytes_out);
    set_named(env, o, "drops", drops_obj(env, t->drops));
}

const char *reason_name(int reason) {
    switch (reason) {
    case SA_REASON_BYTES: return "bytes";
    case SA_REASON_PACKETS: return "packets";
    default: return "time";
    }
}
