/* routeBatch(changes, netns?) for JavaScript: [{ verb: 'add'|'replace'|'delete', dst, dstLen, gateway?, dev?,
 * metric, protocol, table?, nexthops?: [{ gateway, dev }] }] (nexthops: 2..RTNL_MAX_NEXTHOPS, a multipath route) → one errno per change (0 = done). See rtnl.h. */
#include "napi_rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "napi_util.h"
#include "rtnl.h"

#define ROUTE_BATCH_MAX 100000

static int parse_verb(const char *s, uint8_t *verb) {
    if (strcmp(s, "add") == 0) *verb = RTNL_ROUTE_ADD;
    else if (strcmp(s, "replace") == 0) *verb = RTNL_ROUTE_REPLACE;
    else if (strcmp(s, "delete") == 0) *verb = RTNL_ROUTE_DELETE;
    else return -1;
    return 0;
}

/* Reads the next hops of a multipath route; same return convention as read_change. */
static int read_nexthops(napi_env env, napi_value item, struct rtnl_route_op *op) {
    napi_value list;
    int has = get_prop(env, item, "nexthops", &list);
    if (has < 0) return -1;
    if (has > 0) return 0;
    bool is_array = false;
    uint32_t n = 0;
    if (napi_is_array(env, list, &is_array) != napi_ok || !is_array || napi_get_array_length(env, list, &n) != napi_ok ||
        n < 2 || n > RTNL_MAX_NEXTHOPS) {
        napi_util_throw(env, "ERR_INVALID_ARG", "route change: nexthops must list 2 to 4 next hops");
        return -1;
    }
    int gone = 0;
    for (uint32_t i = 0; i < n; i++) {
        napi_value nh;
        char gateway[32] = "", dev[IF_NAMESIZE] = "";
        struct in_addr a;
        if (napi_get_element(env, list, i, &nh) != napi_ok || get_string(env, nh, "gateway", gateway, sizeof(gateway)) != 0 ||
            get_string(env, nh, "dev", dev, sizeof(dev)) != 0 || inet_pton(AF_INET, gateway, &a) != 1) {
            napi_util_throw(env, "ERR_INVALID_ARG", "route change: every next hop needs a gateway and a dev");
            return -1;
        }
        op->nexthops[i].gateway = a.s_addr;
        op->nexthops[i].ifindex = if_nametoindex(dev);
        if (op->nexthops[i].ifindex == 0) gone = 1;
    }
    op->nexthop_count = (uint8_t)n;
    /* A delete matches without the next hops; any other change needs every interface. */
    return gone && op->verb != RTNL_ROUTE_DELETE ? ENODEV : 0;
}

/* Reads change i; returns 0, -1 after throwing, or a positive errno that belongs to this change only. */
static int read_change(napi_env env, napi_value item, struct rtnl_route_op *op) {
    char verb[16] = "", dst[32] = "", gateway[32] = "", dev[IF_NAMESIZE] = "";
    uint32_t dst_len = 0, metric = 0, protocol = 0, table = 0;
    if (get_string(env, item, "verb", verb, sizeof(verb)) != 0 || get_string(env, item, "dst", dst, sizeof(dst)) != 0 ||
        get_u32(env, item, "dstLen", &dst_len) != 0 || get_u32(env, item, "metric", &metric) != 0 ||
        get_u32(env, item, "protocol", &protocol) != 0) {
        napi_util_throw(env, "ERR_INVALID_ARG", "a route change needs verb, dst, dstLen, metric and protocol");
        return -1;
    }
    if (get_string(env, item, "gateway", gateway, sizeof(gateway)) < 0 || get_string(env, item, "dev", dev, sizeof(dev)) < 0 ||
        get_u32(env, item, "table", &table) < 0)
        return -1;
    memset(op, 0, sizeof(*op));
    struct in_addr a;
    if (parse_verb(verb, &op->verb) != 0 || dst_len > 32 || protocol > 255 || inet_pton(AF_INET, dst, &a) != 1) {
        napi_util_throw(env, "ERR_INVALID_ARG", "route change: bad verb, dst, dstLen or protocol");
        return -1;
    }
    op->dst = a.s_addr;
    op->dst_len = (uint8_t)dst_len;
    op->protocol = (uint8_t)protocol;
    op->metric = metric;
    op->table = table;
    if (gateway[0]) {
        if (inet_pton(AF_INET, gateway, &a) != 1) {
            napi_util_throw(env, "ERR_INVALID_ARG", "route change: bad gateway");
            return -1;
        }
        op->gateway = a.s_addr;
    }
    int nexthops = read_nexthops(env, item, op);
    if (nexthops != 0) return nexthops;
    if (dev[0] && op->nexthop_count == 0) {
        op->ifindex = if_nametoindex(dev);
        if (op->ifindex == 0) return ENODEV;
    }
    return 0;
}

/* Enters /run/netns/NAME for the length of one call (benchmarks and tests; the daemon runs in its
 * own namespace and passes none). Returns the fd of the namespace to return to, or -1 with errno. */
static int enter_netns(const char *name) {
    char path[300];
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    int back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (back < 0) return -1;
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0 || setns(target, CLONE_NEWNET) != 0) {
        int err = errno;
        if (target >= 0) close(target);
        close(back);
        errno = err;
        return -1;
    }
    close(target);
    return back;
}

napi_value rtnl_route_batch_js(napi_env env, napi_callback_info info) {
    ARGS(2);
    char netns[256] = "";
    if (argc >= 2) {
        napi_valuetype t;
        NAPI_TRY(env, napi_typeof(env, argv[1], &t));
        if (t == napi_string) {
            size_t len = 0;
            NAPI_TRY(env, napi_get_value_string_utf8(env, argv[1], netns, sizeof(netns), &len));
            if (len == 0 || len >= sizeof(netns) - 1 || strchr(netns, '/')) {
                napi_util_throw(env, "ERR_INVALID_ARG", "routeBatch: bad namespace name");
                return NULL;
            }
        }
    }
    bool is_array = false;
    NAPI_TRY(env, napi_is_array(env, argv[0], &is_array));
    if (argc < 1 || !is_array) {
        napi_util_throw(env, "ERR_INVALID_ARG", "routeBatch takes an array of route changes");
        return NULL;
    }
    uint32_t n = 0;
    NAPI_TRY(env, napi_get_array_length(env, argv[0], &n));
    if (n > ROUTE_BATCH_MAX) {
        napi_util_throw(env, "ERR_INVALID_ARG", "routeBatch: too many changes in one call");
        return NULL;
    }
    struct rtnl_route_op *ops = calloc(n ? n : 1, sizeof(*ops));
    int *errors = calloc(n ? n : 1, sizeof(int));
    int *early = calloc(n ? n : 1, sizeof(int));
    size_t *index = calloc(n ? n : 1, sizeof(size_t));
    napi_value result = NULL;
    int back = -1;
    if (!ops || !errors || !early || !index) {
        napi_util_throw(env, "ENOMEM", "routeBatch: out of memory");
        goto out;
    }
    /* Entered before the changes are read: interface names resolve in the target namespace. */
    if (netns[0]) {
        back = enter_netns(netns);
        if (back < 0) {
            napi_util_throw(env, "ENETNS", "routeBatch: cannot enter the network namespace");
            goto out;
        }
    }
    /* Changes that cannot be sent (an interface that is gone) are answered without the kernel. */
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        napi_value item;
        if (napi_get_element(env, argv[0], i, &item) != napi_ok) {
            napi_util_throw_last(env);
            goto out;
        }
        int r = read_change(env, item, &ops[m]);
        if (r < 0) goto out;
        early[i] = r;
        if (r == 0) index[m++] = i;
    }
    rtnl_route_batch(ops, m, errors);
    if (napi_create_array_with_length(env, n, &result) != napi_ok) goto out;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        int e = early[i];
        if (e == 0 && k < m && index[k] == i) e = errors[k++];
        napi_value v;
        napi_create_int32(env, e, &v);
        napi_set_element(env, result, i, v);
    }
out:
    if (back >= 0) {
        setns(back, CLONE_NEWNET);
        close(back);
    }
    free(ops);
    free(errors);
    free(early);
    free(index);
    return result;
}
