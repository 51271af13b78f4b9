/*
 * cgwd-loadgen: the lab's UDP load generator and sink (benchmarks, not the daemon).
 *
 * One process, two threads: the sink thread enters the sink's network namespace
 * (setns on /run/netns/NAME applies to the calling thread only), binds, and counts;
 * the sender thread enters the sender's namespace and sends sequenced datagrams at a
 * fixed rate. Both threads read one CLOCK_MONOTONIC, so the sink also knows each
 * packet's one-way latency, and the process knows how many were sent: lost is exact.
 *
 *   sender: token bucket of `rate` packets/s, at most `batch` tokens banked; each
 *           wake-up sends what the bucket holds with one sendmmsg and sleeps until
 *           the next token (clock_nanosleep, absolute). Stops after `duration`
 *           seconds or `count` packets, whichever comes first. A batch the local
 *           stack refuses (ENOBUFS) is counted as send errors and uses no sequence
 *           numbers, so lost = sent − received-unique is what the path lost.
 *   sink:   recvmmsg in batches; SO_RXQ_OVFL reports what the sink's own socket
 *           buffer dropped (the lab's loss, not the tunnel's). Stops `grace` ms
 *           after the sender finished, or at once when every packet arrived.
 *
 * --gso K: each message carries K datagrams as one UDP_SEGMENT super-datagram, as a LAN
 *           NIC's GRO with rx-udp-gro-forwarding (or a QUIC-style sender) hands them to the
 *           gateway box: the first hop's kernel forwards one skb per K datagrams and a TUN
 *           with UDP segmentation offload reads them in one read(). Datagrams are sequenced
 *           and counted one by one as without it; the sink receives them one by one.
 *
 * --priority P: both threads run SCHED_FIFO at P, so the gateways sharing the cores cannot
 *           delay the sender past its bucket (it would lose that credit and offer less than
 *           the rate) nor the sink past its socket buffer. The sender sleeps between batches,
 *           so the gateways keep the rest of the CPU; a flood at this priority would not
 *           sleep, which is why the bench uses it only for the ladder's fixed rates.
 *
 * Payload: magic, run id (random per process: stray datagrams are not counted),
 * sequence number, send time. Reordered = arrived with a sequence below the
 * highest seen; duplicated = seen twice (a bitmap of `count` bits).
 *
 * Output: one JSON object on stdout. Exit 0 on a completed run, 2 on bad usage,
 * 3 on a runtime failure (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LG_MAGIC 0x43474c47u /* "CGLG" */
#define LG_HEADER 24         /* magic u32, run u32, seq u64, sent_ns u64 */
#define LG_MAX_BATCH 256
#define LG_MAX_SIZE 9000
#define LG_MAX_RATE 5000000
#define LG_MAX_DURATION 120
#define LG_MAX_COUNT 200000000ULL
#define LG_MAX_GSO 32
#define LG_MAX_GSO_BYTES 65000 /* one super-datagram's payload: below the 64 KiB IP limit */

struct options {
    const char *sender_netns, *sink_netns;
    struct sockaddr_in dst;
    struct sockaddr_in src; /* sin_addr 0: any */
    int size, batch, grace_ms, buffer;
    int gso; /* datagrams per message (1: no UDP_SEGMENT) */
    int priority; /* SCHED_FIFO priority of both threads (0: the normal scheduler) */
    uint64_t rate, count;
    double duration;
};

struct sender_result {
    uint64_t sent, send_errors, batches;
    double seconds;
    int error;
    char message[320];
};

struct sink_result {
    uint64_t received, unique, duplicated, reordered, stray, rxq_overflow;
    uint64_t latency_sum_ns, latency_max_ns;
    int error;
    char message[320];
};

static struct options opt;
static uint32_t run_id;
static atomic_int sender_done;
static atomic_int sink_ready;
static atomic_uint_fast64_t sender_total;
static uint64_t *seen; /* bitmap, opt.count bits */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int valid_netns(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int enter_netns(const char *name, char *msg, size_t len) {
    if (name == NULL) return 0;
    char path[96];
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, len, "open %s: %s", path, strerror(errno));
        return -1;
    }
    int r = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (r < 0) {
        snprintf(msg, len, "setns %s: %s", name, strerror(e));
        return -1;
    }
    return 0;
}

static void set_buffers(int fd, int bytes) {
    /* As root the FORCE variants ignore net.core.[rw]mem_max; else the capped call. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

static int set_priority(char *msg, size_t len) {
    if (opt.priority == 0) return 0;
    struct sched_param sp = {.sched_priority = opt.priority};
    int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (e != 0) {
        snprintf(msg, len, "SCHED_FIFO %d: %s", opt.priority, strerror(e));
        return -1;
    }
    return 0;
}

static void *sender_main(void *arg) {
    struct sender_result *r = arg;
    static uint8_t bufs[LG_MAX_BATCH][LG_MAX_SIZE];
    struct mmsghdr msgs[LG_MAX_BATCH];
    struct iovec iov[LG_MAX_BATCH];
    static uint8_t ctl[LG_MAX_BATCH][CMSG_SPACE(sizeof(uint16_t))];

    if (enter_netns(opt.sender_netns, r->message, sizeof(r->message)) < 0 || set_priority(r->message, sizeof(r->message)) < 0) goto fail;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(r->message, sizeof(r->message), "socket: %s", strerror(errno));
        goto fail;
    }
    set_buffers(fd, opt.buffer);
    if (opt.src.sin_addr.s_addr != 0 && bind(fd, (struct sockaddr *)&opt.src, sizeof(opt.src)) < 0) {
        snprintf(r->message, sizeof(r->message), "bind: %s", strerror(errno));
        close(fd);
        goto fail;
    }
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < opt.batch; i++) {
        memset(bufs[i], 0xa5, (size_t)opt.size);
        put_u32(bufs[i], LG_MAGIC);
        put_u32(bufs[i] + 4, run_id);
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = (size_t)opt.size;
    }
    /* Message m carries datagrams m*gso .. m*gso+gso-1 (the last message of a wake-up may carry fewer). */
    for (int m = 0; m * opt.gso < opt.batch; m++) {
        struct msghdr *h = &msgs[m].msg_hdr;
        h->msg_iov = &iov[m * opt.gso];
        h->msg_iovlen = 1;
        h->msg_name = &opt.dst;
        h->msg_namelen = sizeof(opt.dst);
        if (opt.gso > 1) {
            h->msg_control = ctl[m];
            h->msg_controllen = sizeof(ctl[m]);
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)opt.size;
            memcpy(CMSG_DATA(c), &seg, sizeof(seg));
        }
    }
    while (!atomic_load(&sink_ready)) usleep(1000);

    const uint64_t start = now_ns();
    const uint64_t end = start + (uint64_t)(opt.duration * 1e9);
    const double ns_per_token = 1e9 / (double)opt.rate;
    /* Token bucket: `rate` tokens a second, at most one batch banked. A sender preempted for
     * longer than a batch's worth loses that credit: the rate is an upper bound, never a burst. */
    double tokens = 1;
    uint64_t last = start, seq = 0;
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end || seq >= opt.count) break;
        tokens += (double)(t - last) / ns_per_token;
        last = t;
        if (tokens > (double)opt.batch) tokens = (double)opt.batch;
        uint64_t due = (uint64_t)tokens;
        if (due > opt.count - seq) due = opt.count - seq;
        if (due == 0) {
            /* Sleep until half a batch is due (or one packet at low rates). */
            double want = (double)opt.batch / 2 - tokens;
            if (want < 1 - tokens) want = 1 - tokens;
            uint64_t next = t + (uint64_t)(want * ns_per_token);
            if (next > end) next = end;
            struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ULL), .tv_nsec = (long)(next % 1000000000ULL)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            continue;
        }
        for (uint64_t i = 0; i < due; i++) {
            put_u64(bufs[i] + 8, seq + i);
            put_u64(bufs[i] + 16, t);
        }
        unsigned messages = (unsigned)((due + (uint64_t)opt.gso - 1) / (uint64_t)opt.gso);
        for (unsigned m = 0; m < messages; m++) {
            uint64_t left = due - (uint64_t)m * (uint64_t)opt.gso;
            msgs[m].msg_hdr.msg_iovlen = (size_t)(left < (uint64_t)opt.gso ? left : (uint64_t)opt.gso);
        }
        int n = sendmmsg(fd, msgs, messages, 0);
        r->batches++;
        tokens -= (double)due;
        if (n < 0) {
            /* ENOBUFS/EAGAIN: the local queue refused the batch; counted, tokens spent, no sequence used. */
            r->send_errors += due;
            continue;
        }
        /* The messages sent are a prefix of the batch: the datagrams in them, in order. */
        uint64_t datagrams = 0;
        for (int m = 0; m < n; m++) datagrams += msgs[m].msg_hdr.msg_iovlen;
        if (datagrams < due) r->send_errors += due - datagrams;
        seq += datagrams;
    }
    r->sent = seq;
    r->seconds = (double)(now_ns() - start) / 1e9;
    atomic_store(&sender_total, seq);
    close(fd);
    atomic_store(&sender_done, 1);
    return NULL;
fail:
    r->error = 1;
    atomic_store(&sender_done, 1);
    return NULL;
}

static void *sink_main(void *arg) {
    struct sink_result *r = arg;
    static uint8_t bufs[LG_MAX_BATCH][LG_MAX_SIZE + 1];
    static uint8_t ctl[LG_MAX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
    struct mmsghdr msgs[LG_MAX_BATCH];
    struct iovec iov[LG_MAX_BATCH];

    if (enter_netns(opt.sink_netns, r->message, sizeof(r->message)) < 0 || set_priority(r->message, sizeof(r->message)) < 0) goto fail;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(r->message, sizeof(r->message), "socket: %s", strerror(errno));
        goto fail;
    }
    set_buffers(fd, opt.buffer);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in bind_addr = {.sin_family = AF_INET, .sin_port = opt.dst.sin_port, .sin_addr = {0}};
    if (bind(fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) < 0) {
        snprintf(r->message, sizeof(r->message), "bind port %u: %s", ntohs(opt.dst.sin_port), strerror(errno));
        close(fd);
        goto fail;
    }
    atomic_store(&sink_ready, 1);

    uint64_t highest = 0, last_arrival = now_ns(), done_at = 0;
    int any = 0;
    uint32_t ovfl = 0;
    for (;;) {
        for (int i = 0; i < opt.batch; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof(bufs[i]);
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = ctl[i];
            msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
        }
        int n = recvmmsg(fd, msgs, (unsigned)opt.batch, MSG_WAITFORONE, NULL);
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
            const uint8_t *p = bufs[i];
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(4))
                    memcpy(&ovfl, CMSG_DATA(c), 4);
            if (msgs[i].msg_len < LG_HEADER || get_u32(p) != LG_MAGIC || get_u32(p + 4) != run_id) {
                r->stray++;
                continue;
            }
            uint64_t seq = get_u64(p + 8);
            if (seq >= opt.count) {
                r->stray++;
                continue;
            }
            r->received++;
            uint64_t lat = t - get_u64(p + 16);
            r->latency_sum_ns += lat;
            if (lat > r->latency_max_ns) r->latency_max_ns = lat;
            uint64_t bit = 1ULL << (seq & 63);
            if (seen[seq >> 6] & bit) {
                r->duplicated++;
                continue;
            }
            seen[seq >> 6] |= bit;
            r->unique++;
            if (any && seq < highest) r->reordered++;
            if (!any || seq > highest) highest = seq;
            any = 1;
        }
        if (n > 0) last_arrival = t;
        if (atomic_load(&sender_done)) {
            if (done_at == 0) done_at = t;
            uint64_t total = atomic_load(&sender_total);
            if (r->unique >= total) break;
            if (t - done_at > (uint64_t)opt.grace_ms * 1000000ULL && t - last_arrival > 100000000ULL) break;
            if (t - done_at > 10ULL * (uint64_t)opt.grace_ms * 1000000ULL) break;
        }
    }
    r->rxq_overflow = ovfl;
    close(fd);
    return NULL;
fail:
    r->error = 1;
    atomic_store(&sink_ready, 1);
    return NULL;
}

static void usage(const char *why) {
    fprintf(stderr,
            "cgwd-loadgen: %s\n"
            "usage: cgwd-loadgen --dst ADDR:PORT --rate PPS --size BYTES --duration S [--count N]\n"
            "                    [--sender-netns NS] [--sink-netns NS] [--src ADDR] [--batch N]\n"
            "                    [--grace MS] [--buffer BYTES] [--gso K]\n"
            "                    [--priority P]\n",
            why);
    exit(2);
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_addr(const char *s, struct sockaddr_in *sa, int with_port) {
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t hl = with_port ? (colon ? (size_t)(colon - s) : 0) : strlen(s);
    if (hl == 0 || hl >= sizeof(host)) return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    if (with_port) {
        uint64_t port;
        if (parse_u64(colon + 1, 1, 65535, &port) < 0) return -1;
        sa->sin_port = htons((uint16_t)port);
    }
    return 0;
}

int main(int argc, char **argv) {
    uint64_t v;
    int have_dst = 0, have_rate = 0, have_size = 0, have_duration = 0;
    opt.batch = 32;
    opt.grace_ms = 500;
    opt.buffer = 4 << 20;
    opt.count = LG_MAX_COUNT;
    opt.gso = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) usage("missing value");
        i++;
        if (strcmp(a, "--dst") == 0) {
            if (parse_addr(val, &opt.dst, 1) < 0) usage("--dst must be IPv4:PORT");
            have_dst = 1;
        } else if (strcmp(a, "--src") == 0) {
            if (parse_addr(val, &opt.src, 0) < 0) usage("--src must be IPv4");
        } else if (strcmp(a, "--rate") == 0) {
            if (parse_u64(val, 1, LG_MAX_RATE, &opt.rate) < 0) usage("--rate must be 1..5000000");
            have_rate = 1;
        } else if (strcmp(a, "--size") == 0) {
            if (parse_u64(val, LG_HEADER, LG_MAX_SIZE, &v) < 0) usage("--size must be 24..9000");
            opt.size = (int)v;
            have_size = 1;
        } else if (strcmp(a, "--duration") == 0) {
            char *end;
            opt.duration = strtod(val, &end);
            if (*end != '\0' || !(opt.duration > 0) || opt.duration > LG_MAX_DURATION) usage("--duration must be 0..120 s");
            have_duration = 1;
        } else if (strcmp(a, "--count") == 0) {
            if (parse_u64(val, 1, LG_MAX_COUNT, &opt.count) < 0) usage("--count must be 1..200000000");
        } else if (strcmp(a, "--batch") == 0) {
            if (parse_u64(val, 1, LG_MAX_BATCH, &v) < 0) usage("--batch must be 1..256");
            opt.batch = (int)v;
        } else if (strcmp(a, "--gso") == 0) {
            if (parse_u64(val, 1, LG_MAX_GSO, &v) < 0) usage("--gso must be 1..32");
            opt.gso = (int)v;
        } else if (strcmp(a, "--priority") == 0) {
            if (parse_u64(val, 0, 50, &v) < 0) usage("--priority must be 0..50");
            opt.priority = (int)v;
        } else if (strcmp(a, "--grace") == 0) {
            if (parse_u64(val, 10, 10000, &v) < 0) usage("--grace must be 10..10000 ms");
            opt.grace_ms = (int)v;
        } else if (strcmp(a, "--buffer") == 0) {
            if (parse_u64(val, 4096, 1 << 28, &v) < 0) usage("--buffer must be 4096..268435456");
            opt.buffer = (int)v;
        } else if (strcmp(a, "--sender-netns") == 0) {
            if (!valid_netns(val)) usage("--sender-netns must be a namespace name");
            opt.sender_netns = val;
        } else if (strcmp(a, "--sink-netns") == 0) {
            if (!valid_netns(val)) usage("--sink-netns must be a namespace name");
            opt.sink_netns = val;
        } else {
            usage("unknown option");
        }
    }
    if (!have_dst || !have_rate || !have_size || !have_duration) usage("--dst, --rate, --size and --duration are required");
    if (opt.gso > 1 && (uint64_t)opt.size * (uint64_t)opt.gso > LG_MAX_GSO_BYTES) usage("--gso times --size must be at most 65000 bytes");
    /* The bitmap bounds memory: at most what rate × duration can send, capped by --count. */
    uint64_t most = (uint64_t)((double)opt.rate * opt.duration) + (uint64_t)opt.batch + 1;
    if (opt.count > most) opt.count = most;
    seen = calloc((size_t)(opt.count / 64 + 1), sizeof(uint64_t));
    if (seen == NULL) {
        fprintf(stderr, "cgwd-loadgen: out of memory\n");
        return 3;
    }
    if (getrandom(&run_id, sizeof(run_id), 0) != sizeof(run_id)) run_id = (uint32_t)now_ns();

    struct sender_result sr;
    struct sink_result kr;
    memset(&sr, 0, sizeof(sr));
    memset(&kr, 0, sizeof(kr));
    pthread_t sink, sender;
    if (pthread_create(&sink, NULL, sink_main, &kr) != 0 || pthread_create(&sender, NULL, sender_main, &sr) != 0) {
        fprintf(stderr, "cgwd-loadgen: pthread_create failed\n");
        return 3;
    }
    pthread_join(sender, NULL);
    pthread_join(sink, NULL);
    if (sr.error || kr.error) {
        fprintf(stderr, "cgwd-loadgen: %s\n", sr.error ? sr.message : kr.message);
        return 3;
    }
    uint64_t lost = sr.sent > kr.unique ? sr.sent - kr.unique : 0;
    printf("{\"size\":%d,\"rate\":%" PRIu64 ",\"seconds\":%.3f,\"sent\":%" PRIu64
           ",\"sendErrors\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"received\":%" PRIu64 ",\"unique\":%" PRIu64
           ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"stray\":%" PRIu64
           ",\"sinkOverflow\":%" PRIu64 ",\"latencyMeanUs\":%.1f,\"latencyMaxUs\":%.1f}\n",
           opt.size, opt.rate, sr.seconds, sr.sent, sr.send_errors, sr.batches, kr.received, kr.unique,
           lost, kr.reordered, kr.duplicated, kr.stray, kr.rxq_overflow,
           kr.received ? (double)kr.latency_sum_ns / (double)kr.received / 1e3 : 0.0, (double)kr.latency_max_ns / 1e3);
    return 0;
}
