/*
 * cgwd data plane testing addon (cgwd_dataplane_testing.node), for tests only;
 * test/helpers/native-testing.ts loads it. Built from the same C sources as
 * the production addon, without its entry point (addon.c).
 *
 * Exports: synchronous doors into the C code paths the packet thread uses
 *   EspSa          one SA driven through sa_output/sa_input
 *   ReplayWindow   the anti-replay window
 *   ipv4           per-packet helpers: MSS, DF, fragments, ICMP, TSO, checksums, path budget
 *   espBench       the ESP path in a loop, for `cgwd lab bench --esp-only` (esp_bench.c)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "esp.h"
#include "esp_bench.h"
#include "ipv4.h"
#include "napi_dp.h"
#include "napi_util.h"
#include "replay.h"
#include "sa.h"

/* ---- EspSa: one SA driven synchronously through sa_output/sa_input ---- */

struct js_test_sa {
    struct dp_sa *sa;
    struct iv_pool ivs;
    uint8_t buf[DP_SLOT_SIZE];
};

static void finalize_test_sa(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    struct js_test_sa *t = data;
    sa_destroy(t->sa);
    free(t);
}

static struct js_test_sa *unwrap_test_sa(napi_env env, napi_value self) {
    struct js_test_sa *t = NULL;
    if (napi_unwrap(env, self, (void **)&t) != napi_ok || !t) {
        napi_util_throw(env, "DP_BAD_ARG", "not an EspSa");
        return NULL;
    }
    return t;
}

static napi_value test_sa_new(napi_env env, napi_callback_info info) {
    ARGS(1);
    if (argc < 1) {
        napi_util_throw(env, "DP_BAD_ARG", "new EspSa(spec)");
        return NULL;
    }
    struct dp_sa *sa = create_sa(env, argv[0]);
    if (!sa) return NULL;
    struct js_test_sa *t = calloc(1, sizeof(*t));
    if (!t) {
        sa_destroy(sa);
        napi_util_throw(env, "DP_SYSTEM", "out of memory");
        return NULL;
    }
    t->sa = sa;
    iv_pool_init(&t->ivs);
    if (napi_wrap(env, self, t, finalize_test_sa, NULL, NULL) != napi_ok) {
        finalize_test_sa(env, t, NULL);
        napi_util_throw_last(env);
        return NULL;
    }
    return self;
}

static napi_value drop_result(napi_env env, enum dp_drop why) {
    napi_value o;
    napi_create_object(env, &o);
    set_bool(env, o, "ok", 0);
    set_str(env, o, "reason", drop_reason_name[why]);
    return o;
}

/* encap(inner) -> Buffer (SPI .. ICV) | { ok: false, reason } */
static napi_value test_sa_encap(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_test_sa *t = unwrap_test_sa(env, self);
    if (!t) return NULL;
    uint8_t *data;
    size_t len;
    if (argc < 1 || value_bytes(env, argv[0], "inner", &data, &len) != 0) return NULL;
    if (len > DP_MAX_PKT) {
        napi_util_throw(env, "DP_BAD_ARG", "inner packet too long");
        return NULL;
    }
    if (len) memcpy(t->buf + ESP_PREFIX, data, len);
    uint8_t *esp;
    size_t esp_len;
    enum dp_drop why;
    if (sa_output(t->sa, &t->ivs, t->buf, len, &esp, &esp_len, &why) != 0) {
        t->sa->ctr.drops[why]++; /* as the packet loop's drop_out() does for the SA */
        return drop_result(env, why);
    }
    napi_value out;
    void *copy;
    napi_create_buffer_copy(env, esp_len, esp, &copy, &out);
    return out;
}

/* decap(esp) -> { ok: true, inner } | { ok: false, reason } */
static napi_value test_sa_decap(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_test_sa *t = unwrap_test_sa(env, self);
    if (!t) return NULL;
    uint8_t *data;
    size_t len;
    if (argc < 1 || value_bytes(env, argv[0], "esp", &data, &len) != 0) return NULL;
    if (len > DP_SLOT_SIZE) {
        napi_util_throw(env, "DP_BAD_ARG", "ESP packet too long");
        return NULL;
    }
    if (len) memcpy(t->buf, data, len); /* an empty Buffer may have a NULL data pointer */
    uint8_t *inner;
    size_t inner_len;
    enum dp_drop why;
    if (len < 4 || !(t->buf[0] | t->buf[1] | t->buf[2] | t->buf[3])) return drop_result(env, DROP_MALFORMED);
    uint32_t spi = ((uint32_t)t->buf[0] << 24) | ((uint32_t)t->buf[1] << 16) | ((uint32_t)t->buf[2] << 8) | t->buf[3];
    if (spi != t->sa->spi_in) return drop_result(env, DROP_NO_SA);
    if (sa_input(t->sa, t->buf, len, &inner, &inner_len, &why) != 0) {
        t->sa->ctr_in.drops[why]++; /* the inbound side's, as drop_in() does */
        return drop_result(env, why);
    }
    napi_value o, buf;
    void *copy;
    napi_create_object(env, &o);
    set_bool(env, o, "ok", 1);
    napi_create_buffer_copy(env, inner_len, inner, &copy, &buf);
    set_named(env, o, "inner", buf);
    return o;
}

/* state() -> { seqOut, replayTop, soft, hard, seqExhausting, counters } */
static napi_value test_sa_state(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct js_test_sa *t = unwrap_test_sa(env, self);
    if (!t) return NULL;
    struct dp_sa *sa = t->sa;
    napi_value o, c;
    napi_create_object(env, &o);
    set_u64(env, o, "seqOut", sa->seq_out);
    set_u64(env, o, "replayTop", sa->replay.top);
    set_u64(env, o, "replayWindow", sa->replay.size);
    set_str(env, o, "soft", sa->soft_state ? reason_name(sa->soft_reason) : NULL);
    set_str(env, o, "hard", sa->hard_state ? reason_name(sa->hard_reason) : NULL);
    set_bool(env, o, "seqExhausting", sa->seq_state != SA_EVENT_NONE);
    napi_create_object(env, &c);
    struct dp_traffic total;
    sa_traffic_total(sa, &total);
    set_traffic(env, c, &total);
    set_named(env, o, "counters", c);
    return o;
}

/* setSeqOut(n): the last sequence number "already sent" */
static napi_value test_sa_set_seq(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_test_sa *t = unwrap_test_sa(env, self);
    if (!t) return NULL;
    double d;
    if (argc < 1 || napi_get_value_double(env, argv[0], &d) != napi_ok || d < 0 || d > (double)SA_SEQ_MAX) {
        napi_util_throw(env, "DP_BAD_ARG", "setSeqOut(n) with 0 <= n <= 2^32-1");
        return NULL;
    }
    t->sa->seq_out = (uint64_t)d;
    return NULL;
}

/* checkLifetime(ageMs): runs the time check as if the SA were ageMs old */
static napi_value test_sa_check_lifetime(napi_env env, napi_callback_info info) {
    ARGS(1);
    struct js_test_sa *t = unwrap_test_sa(env, self);
    if (!t) return NULL;
    double d;
    if (argc < 1 || napi_get_value_double(env, argv[0], &d) != napi_ok || d < 0) {
        napi_util_throw(env, "DP_BAD_ARG", "checkLifetime(ageMs)");
        return NULL;
    }
    sa_check_time(t->sa, t->sa->installed_ms + (uint64_t)d);
    return NULL;
}

/* ---- ReplayWindow ---- */

static void finalize_free(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    free(data);
}

static napi_value replay_new(napi_env env, napi_callback_info info) {
    ARGS(1);
    uint32_t size = 0;
    if (argc < 1 || napi_get_value_uint32(env, argv[0], &size) != napi_ok || size > REPLAY_MAX_BITS) {
        napi_util_throw(env, "DP_BAD_ARG", "new ReplayWindow(bits) with bits <= 4096");
        return NULL;
    }
    struct replay_window *w = malloc(sizeof(*w));
    if (!w) return NULL;
    replay_init(w, size);
    if (napi_wrap(env, self, w, finalize_free, NULL, NULL) != napi_ok) {
        free(w);
        return NULL;
    }
    return self;
}

static napi_value replay_op(napi_env env, napi_callback_info info, int update) {
    ARGS(1);
    struct replay_window *w = NULL;
    uint32_t seq = 0;
    if (napi_unwrap(env, self, (void **)&w) != napi_ok || !w || argc < 1 ||
        napi_get_value_uint32(env, argv[0], &seq) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "check/update(seq)");
        return NULL;
    }
    int r = update ? replay_update(w, seq) : replay_check(w, seq);
    napi_value out;
    napi_get_boolean(env, r == 0, &out);
    return out;
}

static napi_value replay_check_js(napi_env env, napi_callback_info info) { return replay_op(env, info, 0); }
static napi_value replay_update_js(napi_env env, napi_callback_info info) { return replay_op(env, info, 1); }

static napi_value replay_top_js(napi_env env, napi_callback_info info) {
    ARGS(1);
    (void)argv;
    struct replay_window *w = NULL;
    if (napi_unwrap(env, self, (void **)&w) != napi_ok || !w) return NULL;
    return make_u64(env, w->top);
}

/* ---- ipv4 ---- */

static int arg_bytes(napi_env env, napi_callback_info info, size_t want, napi_value *argv, uint8_t **data,
                     size_t *len) {
    size_t argc = want;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
        napi_util_throw(env, "DP_BAD_ARG", "missing arguments");
        return -1;
    }
    return value_bytes(env, argv[0], "packet", data, len);
}

/* clampMss(packet, mss) -> changed (in place) */
static napi_value ipv4_clamp_mss_js(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    uint8_t *p;
    size_t len;
    uint32_t mss;
    if (arg_bytes(env, info, 2, argv, &p, &len) != 0) return NULL;
    if (napi_get_value_uint32(env, argv[1], &mss) != napi_ok || mss > 65535) {
        napi_util_throw(env, "DP_BAD_ARG", "mss");
        return NULL;
    }
    napi_value r;
    napi_get_boolean(env, ipv4_clamp_mss(p, len, (uint16_t)mss), &r);
    return r;
}

/* clearDf(packet) -> changed (in place) */
static napi_value ipv4_clear_df_js(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    uint8_t *p;
    size_t len;
    if (arg_bytes(env, info, 1, argv, &p, &len) != 0) return NULL;
    napi_value r;
    napi_get_boolean(env, ipv4_total_length(p, len) ? ipv4_clear_df(p) : 0, &r);
    return r;
}

/* fragment(packet, max) -> Buffer[] | null */
static napi_value ipv4_fragment_js(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    uint8_t *p;
    size_t len;
    uint32_t max;
    if (arg_bytes(env, info, 2, argv, &p, &len) != 0) return NULL;
    if (napi_get_value_uint32(env, argv[1], &max) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "max");
        return NULL;
    }
    size_t total = ipv4_total_length(p, len);
    struct ipv4_frag_iter it;
    napi_value arr;
    if (!total || ipv4_frag_begin(&it, p, total, max) != 0) {
        napi_get_null(env, &arr);
        return arr;
    }
    uint8_t *out = malloc(it.max);
    if (!out) return NULL;
    napi_create_array(env, &arr);
    uint32_t i = 0;
    size_t n;
    while ((n = ipv4_frag_next(&it, out)) != 0) {
        napi_value b;
        void *copy;
        napi_create_buffer_copy(env, n, out, &copy, &b);
        napi_set_element(env, arr, i++, b);
    }
    free(out);
    return arr;
}

/* fragNeeded(packet, source, mtu) -> Buffer | null */
static napi_value ipv4_frag_needed_js(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    uint8_t *p;
    size_t len;
    char src[64];
    size_t slen;
    uint32_t mtu, addr;
    if (arg_bytes(env, info, 3, argv, &p, &len) != 0) return NULL;
    if (napi_get_value_string_utf8(env, argv[1], src, sizeof(src), &slen) != napi_ok ||
        napi_get_value_uint32(env, argv[2], &mtu) != napi_ok || mtu > 65535) {
        napi_util_throw(env, "DP_BAD_ARG", "fragNeeded(packet, source, mtu)");
        return NULL;
    }
    if (parse_ipv4(env, src, "source", &addr) != 0) return NULL;
    uint8_t out[640];
    size_t n = ipv4_frag_needed(p, len, addr, (uint16_t)mtu, 1, out);
    napi_value r;
    if (!n) {
        napi_get_null(env, &r);
        return r;
    }
    void *copy;
    napi_create_buffer_copy(env, n, out, &copy, &r);
    return r;
}

/* tsoSegment(packet, gsoSize) -> Buffer[] | null: what the packet thread does with a TCP super-packet */
static napi_value ipv4_tso_js(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    uint8_t *p;
    size_t len;
    uint32_t gso;
    if (arg_bytes(env, info, 2, argv, &p, &len) != 0) return NULL;
    if (napi_get_value_uint32(env, argv[1], &gso) != napi_ok || gso == 0 || gso > DP_MAX_PKT) {
        napi_util_throw(env, "DP_BAD_ARG", "gsoSize");
        return NULL;
    }
    struct tso_iter it;
    napi_value arr;
    if (tso_begin(&it, p, len, gso) != 0) {
        napi_get_null(env, &arr);
        return arr;
    }
    uint8_t *out = malloc(it.hlen + gso);
    if (!out) return NULL;
    napi_create_array(env, &arr);
    uint32_t i = 0;
    size_t n;
    while ((n = tso_next(&it, out)) != 0) {
        napi_value b;
        void *copy;
        napi_create_buffer_copy(env, n, out, &copy, &b);
        napi_set_element(env, arr, i++, b);
    }
    free(out);
    return arr;
}

/* finishChecksum(packet, csumStart, csumOffset) -> boolean (in place): VIRTIO_NET_HDR_F_NEEDS_CSUM */
static napi_value ipv4_finish_checksum_js(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    uint8_t *p;
    size_t len;
    uint32_t start, offset;
    if (arg_bytes(env, info, 3, argv, &p, &len) != 0) return NULL;
    if (napi_get_value_uint32(env, argv[1], &start) != napi_ok || napi_get_value_uint32(env, argv[2], &offset) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "finishChecksum(packet, start, offset)");
        return NULL;
    }
    napi_value r;
    napi_get_boolean(env, l4_checksum_finish(p, len, start, offset) == 0, &r);
    return r;
}

/* maxInner(encryption, integrity | null, pathMtu) -> bytes */
static napi_value esp_max_inner_js(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3];
    char enc[32] = "", integ[32] = "";
    size_t n;
    uint32_t mtu;
    NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    napi_valuetype t = napi_undefined;
    if (argc >= 2) napi_typeof(env, argv[1], &t);
    if (argc < 3 || napi_get_value_string_utf8(env, argv[0], enc, sizeof(enc), &n) != napi_ok ||
        (t == napi_string && napi_get_value_string_utf8(env, argv[1], integ, sizeof(integ), &n) != napi_ok) ||
        napi_get_value_uint32(env, argv[2], &mtu) != napi_ok) {
        napi_util_throw(env, "DP_BAD_ARG", "maxInner(encryption, integrity, pathMtu)");
        return NULL;
    }
    struct esp_suite s;
    if (esp_suite_lookup(enc, t == napi_string ? integ : NULL, &s) != 0) {
        napi_util_throw(env, "DP_BAD_ARG", "unsupported transform");
        return NULL;
    }
    return make_u64(env, esp_max_inner(&s, mtu));
}

/* ---- espBench(encryption, integrity | null, ipBytes, count) -> { encapNs, decapNs } ---- */

static napi_value esp_bench_js(napi_env env, napi_callback_info info) {
    size_t argc = 4, n = 0;
    napi_value argv[4];
    char enc[32] = {0}, integ[32] = {0}, err[160] = {0};
    uint32_t len = 0, count = 0;
    NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    napi_valuetype t = napi_undefined;
    if (argc >= 2) napi_typeof(env, argv[1], &t);
    if (argc < 4 || napi_get_value_string_utf8(env, argv[0], enc, sizeof(enc), &n) != napi_ok ||
        (t == napi_string && napi_get_value_string_utf8(env, argv[1], integ, sizeof(integ), &n) != napi_ok) ||
        napi_get_value_uint32(env, argv[2], &len) != napi_ok || napi_get_value_uint32(env, argv[3], &count) != napi_ok ||
        count > 10000000) {
        napi_util_throw(env, "DP_BAD_ARG", "espBench(encryption, integrity, ipBytes, count up to 10,000,000)");
        return NULL;
    }
    double encap_ns = 0, decap_ns = 0;
    if (esp_bench_run(enc, t == napi_string ? integ : NULL, len, (int)count, &encap_ns, &decap_ns, err, sizeof(err)) != 0) {
        napi_util_throw(env, "DP_BAD_ARG", err);
        return NULL;
    }
    napi_value out, v;
    NAPI_TRY(env, napi_create_object(env, &out));
    NAPI_TRY(env, napi_create_double(env, encap_ns, &v));
    NAPI_TRY(env, napi_set_named_property(env, out, "encapNs", v));
    NAPI_TRY(env, napi_create_double(env, decap_ns, &v));
    NAPI_TRY(env, napi_set_named_property(env, out, "decapNs", v));
    return out;
}

/* ---- module ---- */

static napi_value init(napi_env env, napi_value exports) {
    napi_value ipv4;
    napi_property_descriptor sa_methods[] = {
        METHOD("encap", test_sa_encap),   METHOD("decap", test_sa_decap),
        METHOD("state", test_sa_state),   METHOD("setSeqOut", test_sa_set_seq),
        METHOD("checkLifetime", test_sa_check_lifetime),
    };
    napi_value sa_class;
    NAPI_TRY(env, napi_define_class(env, "EspSa", NAPI_AUTO_LENGTH, test_sa_new, NULL,
                                    sizeof(sa_methods) / sizeof(sa_methods[0]), sa_methods, &sa_class));
    NAPI_TRY(env, napi_set_named_property(env, exports, "EspSa", sa_class));

    napi_property_descriptor rw_methods[] = {
        METHOD("check", replay_check_js),
        METHOD("update", replay_update_js),
        METHOD("top", replay_top_js),
    };
    napi_value rw_class;
    NAPI_TRY(env, napi_define_class(env, "ReplayWindow", NAPI_AUTO_LENGTH, replay_new, NULL,
                                    sizeof(rw_methods) / sizeof(rw_methods[0]), rw_methods, &rw_class));
    NAPI_TRY(env, napi_set_named_property(env, exports, "ReplayWindow", rw_class));

    NAPI_TRY(env, napi_create_object(env, &ipv4));
    napi_property_descriptor ipv4_fns[] = {
        METHOD("clampMss", ipv4_clamp_mss_js),   METHOD("clearDf", ipv4_clear_df_js),
        METHOD("fragment", ipv4_fragment_js),    METHOD("fragNeeded", ipv4_frag_needed_js),
        METHOD("maxInner", esp_max_inner_js),    METHOD("tsoSegment", ipv4_tso_js),
        METHOD("finishChecksum", ipv4_finish_checksum_js),
    };
    NAPI_TRY(env, napi_define_properties(env, ipv4, sizeof(ipv4_fns) / sizeof(ipv4_fns[0]), ipv4_fns));
    NAPI_TRY(env, napi_set_named_property(env, exports, "ipv4", ipv4));
    napi_value bench;
    NAPI_TRY(env, napi_create_function(env, "espBench", NAPI_AUTO_LENGTH, esp_bench_js, NULL, &bench));
    NAPI_TRY(env, napi_set_named_property(env, exports, "espBench", bench));
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
