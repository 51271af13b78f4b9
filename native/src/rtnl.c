/* Batched, ack-checked route changes over rtnetlink. See rtnl.h.
 *
 * Requests go out in chunks of up to CHUNK_BYTES (one send() each); every request carries
 * NLM_F_ACK and a sequence number equal to its index + a per-call base, so each NLMSG_ERROR
 * answer is matched to its request by sequence, whatever the order. NETLINK_CAP_ACK keeps the
 * answers small (the request is not echoed back). A chunk's answers are all read before the next
 * chunk is sent, so the receive buffer never has to hold more than one chunk's acks. */
#include "rtnl.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define CHUNK_BYTES (32 * 1024)
#define RECV_BYTES (64 * 1024)
#define ACK_TIMEOUT_MS 2000
/* One request: header, rtmsg, five IPv4/u32 attributes, and a multipath attribute whose every
 * rtnexthop carries one gateway attribute. */
#define NEXTHOP_SPACE (RTNH_ALIGN(sizeof(struct rtnexthop)) + RTA_SPACE(sizeof(uint32_t)))
#define REQ_MAX (NLMSG_SPACE(sizeof(struct rtmsg)) + 5 * RTA_SPACE(sizeof(uint32_t)) + RTA_SPACE(RTNL_MAX_NEXTHOPS * NEXTHOP_SPACE))

static void add_attr_u32(struct nlmsghdr *h, unsigned short type, uint32_t value) {
    struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(sizeof(uint32_t));
    memcpy(RTA_DATA(rta), &value, sizeof(value));
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_SPACE(sizeof(uint32_t));
}

/* RTA_MULTIPATH: a list of rtnexthop, each followed by its own RTA_GATEWAY (rtnetlink(7)). */
static void add_multipath(struct nlmsghdr *h, const struct rtnl_route_op *op) {
    struct rtattr *mp = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    mp->rta_type = RTA_MULTIPATH;
    size_t used = 0;
    for (uint8_t i = 0; i < op->nexthop_count && i < RTNL_MAX_NEXTHOPS; i++) {
        struct rtnexthop *nh = (struct rtnexthop *)((char *)RTA_DATA(mp) + used);
        memset(nh, 0, sizeof(*nh));
        nh->rtnh_ifindex = (int)op->nexthops[i].ifindex;
        nh->rtnh_hops = 0; /* weight 1 */
        struct rtattr *gw = RTNH_DATA(nh);
        gw->rta_type = RTA_GATEWAY;
        gw->rta_len = RTA_LENGTH(sizeof(uint32_t));
        memcpy(RTA_DATA(gw), &op->nexthops[i].gateway, sizeof(uint32_t));
        nh->rtnh_len = (unsigned short)(RTNH_ALIGN(sizeof(struct rtnexthop)) + RTA_SPACE(sizeof(uint32_t)));
        used += RTNH_ALIGN(nh->rtnh_len);
    }
    mp->rta_len = (unsigned short)RTA_LENGTH(used);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(mp->rta_len);
}

static size_t build_request(char *buf, const struct rtnl_route_op *op, uint32_t seq) {
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    memset(buf, 0, REQ_MAX);
    h->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    h->nlmsg_seq = seq;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    if (op->verb == RTNL_ROUTE_DELETE) {
        h->nlmsg_type = RTM_DELROUTE;
    } else {
        h->nlmsg_type = RTM_NEWROUTE;
        h->nlmsg_flags |= NLM_F_CREATE | (op->verb == RTNL_ROUTE_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL);
    }
    struct rtmsg *r = NLMSG_DATA(h);
    r->rtm_family = AF_INET;
    r->rtm_dst_len = op->dst_len;
    r->rtm_protocol = op->protocol;
    r->rtm_type = RTN_UNICAST;
    r->rtm_table = op->table == 0 ? RT_TABLE_MAIN : (op->table < 256 ? (unsigned char)op->table : RT_TABLE_UNSPEC);
    if (op->verb == RTNL_ROUTE_DELETE) r->rtm_scope = RT_SCOPE_NOWHERE;
    else r->rtm_scope = op->gateway || op->nexthop_count >= 2 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    if (op->dst_len > 0) add_attr_u32(h, RTA_DST, op->dst);
    if (op->nexthop_count >= 2) {
        if (op->verb != RTNL_ROUTE_DELETE) add_multipath(h, op);
    } else {
        if (op->gateway) add_attr_u32(h, RTA_GATEWAY, op->gateway);
        if (op->ifindex) add_attr_u32(h, RTA_OIF, op->ifindex);
    }
    add_attr_u32(h, RTA_PRIORITY, op->metric);
    if (op->table >= 256) add_attr_u32(h, RTA_TABLE, op->table);
    return NLMSG_ALIGN(h->nlmsg_len);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads answers until every request in [first, end) has one. */
static int read_acks(int fd, uint32_t base, size_t first, size_t end, int *errors, char *answered) {
    static __thread char rbuf[RECV_BYTES] __attribute__((aligned(NLMSG_ALIGNTO)));
    size_t pending = end - first;
    int64_t deadline = now_ms() + ACK_TIMEOUT_MS;
    while (pending > 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return pr == 0 ? ETIMEDOUT : errno;
        ssize_t got = recv(fd, rbuf, sizeof(rbuf), 0);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return errno;
        }
        size_t len = (size_t)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type != NLMSG_ERROR) continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) continue;
            uint32_t index = h->nlmsg_seq - base;
            if (h->nlmsg_seq < base || index < first || index >= end || answered[index]) continue;
            const struct nlmsgerr *e = NLMSG_DATA(h);
            errors[index] = e->error < 0 ? -e->error : 0;
            answered[index] = 1;
            pending--;
        }
    }
    return 0;
}

int rtnl_route_batch(const struct rtnl_route_op *ops, size_t n, int *errors) {
    if (n == 0) return 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        int err = errno;
        for (size_t i = 0; i < n; i++) errors[i] = err;
        return err;
    }
    int one = 1, rcv = 1 << 20;
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    int result = 0;
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) result = errno;

    static __thread char sbuf[CHUNK_BYTES + REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
    char answered_small[4096];
    char *answered = answered_small;
    char *answered_heap = NULL;
    if (n > sizeof(answered_small)) {
        answered_heap = malloc(n);
        answered = answered_heap;
    }
    if (!answered) result = ENOMEM;
    else memset(answered, 0, n);
    uint32_t base = (uint32_t)now_ms() * 1000u;
    size_t i = 0;
    while (result == 0 && i < n) {
        size_t first = i, used = 0;
        while (i < n && used + REQ_MAX <= CHUNK_BYTES) {
            used += build_request(sbuf + used, &ops[i], base + (uint32_t)i);
            i++;
        }
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        ssize_t sent = sendto(fd, sbuf, used, 0, (struct sockaddr *)&kernel, sizeof(kernel));
        if (sent < 0 || (size_t)sent != used) {
            result = sent < 0 ? errno : EIO;
            i = first;
            break;
        }
        result = read_acks(fd, base, first, i, errors, answered);
        if (result != 0) i = first;
    }
    for (size_t k = i; k < n; k++)
        if (!answered || !answered[k]) errors[k] = result ? result : EIO;
    free(answered_heap);
    close(fd);
    return result;
}
