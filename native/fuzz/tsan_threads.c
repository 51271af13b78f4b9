/*
 * ThreadSanitizer harness for two packet threads (dp_options.threads = 2): two data planes
 * A and B in the namespaces given (joined by a veth by tsan.sh), one tunnel each, a mirrored
 * SA pair; while a ping flood runs A -> B (tsan.sh), this process keeps every thread busy:
 * probes on A every 10 ms (timer on A's outbound thread, replies claimed on its inbound one),
 * an SA replacement every 50 ms on both sides (commands under the write lock while both
 * packet threads run), a snapshot every few ms (from the command path), stall hooks, and
 * at the end dp_destroy of both while the flood still runs.
 *
 * Usage (root): tsan_threads NS_A NS_B SECONDS. Exit 0, and TSan prints nothing, when clean.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/dataplane.h"
#include "../src/sa.h"

static int probe_events, probe_answered;

static int on_event(void *ctx, struct dp_event *ev) {
    (void)ctx;
    if (ev->type == DP_EV_PROBE) {
        __atomic_add_fetch(&probe_events, 1, __ATOMIC_RELAXED);
        if (ev->rtt_us >= 0) __atomic_add_fetch(&probe_answered, 1, __ATOMIC_RELAXED);
    }
    free(ev);
    return 0;
}

static struct dataplane *open_dp(const char *ns, const char *local, char *path, size_t path_len) {
    snprintf(path, path_len, "/run/netns/%s", ns);
    struct dp_options o;
    memset(&o, 0, sizeof(o));
    o.netns = path;
    o.local.sin_family = AF_INET;
    o.local.sin_port = htons(4500);
    inet_pton(AF_INET, local, &o.local.sin_addr);
    o.batch = 64;
    o.rcvbuf = o.sndbuf = 4 << 20;
    o.tun_offload = 1;
    o.udp_offload = 1;
    o.event_queue = 1024;
    o.threads = 2;
    int status = 0, err = 0;
    char msg[256] = "";
    struct dataplane *d = dp_create(&o, on_event, NULL, &status, &err, msg, sizeof(msg));
    if (!d) {
        fprintf(stderr, "dp_create %s: %s\n", ns, msg);
        exit(1);
    }
    return d;
}

static void command(struct dataplane *d, struct dp_cmd *c, const char *what) {
    if (dp_command(d, c) != DP_OK) {
        fprintf(stderr, "%s: %s\n", what, c->error);
        exit(1);
    }
    for (struct dp_sa *sa = c->freed; sa;) {
        struct dp_sa *next = sa->next;
        sa_destroy(sa);
        sa = next;
    }
    free(c->snapshot);
}

static void add_tunnel(struct dataplane *d, const char *address, const char *peer) {
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_ADD_TUNNEL;
    c.tunnel.tunnel = 1;
    snprintf(c.tunnel.ifname, sizeof(c.tunnel.ifname), "tsant1");
    c.tunnel.mtu = 1400;
    inet_pton(AF_INET, address, &c.tunnel.address);
    inet_pton(AF_INET, peer, &c.tunnel.peer);
    c.tunnel.prefix_len = 30;
    c.tunnel.disable_ipv6 = 1;
    c.tunnel.path_mtu = 1500;
    command(d, &c, "add tunnel");
}

static void install(struct dataplane *d, uint32_t id, uint32_t spi_in, uint32_t spi_out, int reverse, const char *remote) {
    static const uint8_t key_ab[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    static const uint8_t key_ba[20] = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40};
    struct sa_params p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    p.tunnel = 1;
    p.spi_in = spi_in;
    p.spi_out = spi_out;
    p.encryption = "aes128-gcm16";
    p.enc_key_in = reverse ? key_ab : key_ba;
    p.enc_key_out = reverse ? key_ba : key_ab;
    p.enc_key_in_len = p.enc_key_out_len = 20;
    p.remote.sin_family = AF_INET;
    p.remote.sin_port = htons(4500);
    inet_pton(AF_INET, remote, &p.remote.sin_addr);
    p.replay_window = 1024;
    p.soft_packets = id % 3 == 0 ? 500 : 0; /* now and then a volume limit both threads test */
    char err[160];
    struct dp_sa *sa = sa_create(&p, dp_now_ms(), err, sizeof(err));
    if (!sa) {
        fprintf(stderr, "sa_create: %s\n", err);
        exit(1);
    }
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_INSTALL_SA;
    c.sa = sa;
    command(d, &c, "install SA");
}

static void remove_sa(struct dataplane *d, uint32_t id) {
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_REMOVE_SA;
    c.sa_id = id;
    command(d, &c, "remove SA");
}

static uint64_t snapshot_packets(struct dataplane *d, uint64_t *in) {
    struct dp_cmd c;
    memset(&c, 0, sizeof(c));
    c.type = DP_CMD_SNAPSHOT;
    if (dp_command(d, &c) != DP_OK) exit(1);
    uint64_t out = c.snapshot->tunnel_count ? c.snapshot->tunnels[0].ctr.packets_out : 0;
    *in = c.snapshot->tunnel_count ? c.snapshot->tunnels[0].ctr.packets_in : 0;
    free(c.snapshot);
    return out;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s NS_A NS_B SECONDS\n", argv[0]);
        return 2;
    }
    char pa[256], pb[256];
    struct dataplane *a = open_dp(argv[1], "10.98.0.1", pa, sizeof(pa));
    struct dataplane *b = open_dp(argv[2], "10.98.0.2", pb, sizeof(pb));
    add_tunnel(a, "169.254.98.2", "169.254.98.1");
    add_tunnel(b, "169.254.98.1", "169.254.98.2");
    uint32_t id = 1;
    install(a, id, 0x1000 + id, 0x2000 + id, 0, "10.98.0.2");
    install(b, id, 0x2000 + id, 0x1000 + id, 1, "10.98.0.1");

    struct dp_cmd probe;
    memset(&probe, 0, sizeof(probe));
    probe.type = DP_CMD_SET_PROBE;
    probe.tunnel.tunnel = 1;
    probe.probe_interval_ms = 10;
    command(a, &probe, "set probe");
    printf("ready\n");
    fflush(stdout);

    uint64_t end = dp_now_ms() + (uint64_t)atoi(argv[3]) * 1000u, next_rekey = dp_now_ms() + 50;
    int rekeys = 0, snapshots = 0, stalled = 0;
    while (dp_now_ms() < end) {
        uint64_t in = 0;
        snapshot_packets(a, &in);
        snapshots++;
        if (dp_now_ms() >= next_rekey) {
            uint32_t next = id + 1;
            install(a, next, 0x1000 + next, 0x2000 + next, 0, "10.98.0.2");
            install(b, next, 0x2000 + next, 0x1000 + next, 1, "10.98.0.1");
            remove_sa(a, id);
            remove_sa(b, id);
            id = next;
            rekeys++;
            next_rekey = dp_now_ms() + 50;
        }
        if (!stalled && dp_now_ms() + 1000 >= end) {
            dp_stall(b, 100);
            stalled = 1;
        }
        (void)dp_heartbeat_of(a, 0);
        (void)dp_heartbeat_of(a, 1);
        struct timespec nap = {.tv_sec = 0, .tv_nsec = 2 * 1000000L};
        nanosleep(&nap, NULL);
    }
    uint64_t in_a = 0, in_b = 0;
    uint64_t out_a = snapshot_packets(a, &in_a), out_b = snapshot_packets(b, &in_b);
    printf("rekeys %d snapshots %d; A out %llu in %llu; B out %llu in %llu; probes %d answered %d\n", rekeys, snapshots,
           (unsigned long long)out_a, (unsigned long long)in_a, (unsigned long long)out_b, (unsigned long long)in_b,
           __atomic_load_n(&probe_events, __ATOMIC_RELAXED), __atomic_load_n(&probe_answered, __ATOMIC_RELAXED));
    dp_destroy(a);
    dp_destroy(b);
    printf("destroyed\n");
    return out_a > 0 && in_a > 0 && out_b > 0 && in_b > 0 && probe_answered > 0 ? 0 : 1;
}
