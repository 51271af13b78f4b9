/* Kernel route changes over rtnetlink (RFC 3549 describes the protocol; the message layout is
 * linux/rtnetlink.h): many RTM_NEWROUTE/RTM_DELROUTE requests written in a few send() calls,
 * every one with NLM_F_ACK, and each request's own answer (0 or an errno) read back.
 * Runs in the caller's thread and network namespace; needs CAP_NET_ADMIN. */
#ifndef CGWD_RTNL_H
#define CGWD_RTNL_H

#include <stddef.h>
#include <stdint.h>

enum rtnl_route_verb {
    RTNL_ROUTE_ADD = 0,     /* NLM_F_CREATE | NLM_F_EXCL: never replaces a route that is there */
    RTNL_ROUTE_REPLACE = 1, /* NLM_F_CREATE | NLM_F_REPLACE: moves a route cgwd owns */
    RTNL_ROUTE_DELETE = 2,  /* matches protocol, metric, gateway and device: never someone else's */
};

/* An equal-cost multipath route (RTA_MULTIPATH): up to this many next hops, equal weights. */
#define RTNL_MAX_NEXTHOPS 4

struct rtnl_nexthop {
    uint32_t gateway; /* network byte order */
    uint32_t ifindex;
};

struct rtnl_route_op {
    uint8_t verb;
    uint8_t dst_len;
    uint8_t protocol;
    uint32_t dst;     /* network byte order */
    uint32_t gateway; /* network byte order; 0 = on-link (no gateway) */
    uint32_t ifindex; /* 0 = any (delete only) */
    uint32_t metric;
    uint32_t table;   /* 0 = main */
    /* 2..RTNL_MAX_NEXTHOPS: a multipath route over these next hops, and gateway/ifindex are unused.
     * A delete of a multipath route names none (prefix, metric, protocol and table match it). */
    uint8_t nexthop_count;
    struct rtnl_nexthop nexthops[RTNL_MAX_NEXTHOPS];
};

/* Applies n changes; errors[i] = 0 or a positive errno for change i. Returns 0, or a positive errno
 * when the netlink socket itself failed (then errors[] past the failure hold that errno). */
int rtnl_route_batch(const struct rtnl_route_op *ops, size_t n, int *errors);

#endif
