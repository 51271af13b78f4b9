#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/ipv4.h"

static const char *const ENC[FUZZ_SUITES] = {"aes128-gcm16", "aes256-gcm16", "aes128-cbc", "aes256-cbc", "aes128-cbc", "aes256-cbc"};
static const char *const INTEG[FUZZ_SUITES] = {NULL, NULL, "hmac-sha1-96", "hmac-sha256-128", "hmac-sha384-192", "hmac-sha512-256"};
static const size_t ENC_LEN[FUZZ_SUITES] = {20, 36, 16, 32, 16, 32};
static const size_t INTEG_LEN[FUZZ_SUITES] = {0, 0, 20, 32, 48, 64};

void fuzz_suite(int index, const char **enc, const char **integ) {
    *enc = ENC[index];
    *integ = INTEG[index];
}

struct dp_sa *fuzz_sa(int suite, uint32_t id, uint32_t spi_in, uint32_t spi_out, int reverse) {
    static uint8_t key_a[64], key_b[64], int_a[64], int_b[64];
    for (int i = 0; i < 64; i++) {
        key_a[i] = (uint8_t)(0x11 + i);
        key_b[i] = (uint8_t)(0x77 + i);
        int_a[i] = (uint8_t)(0x33 + i);
        int_b[i] = (uint8_t)(0x99 + i);
    }
    struct sa_params p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    p.tunnel = 1;
    p.spi_in = spi_in;
    p.spi_out = spi_out;
    p.encryption = ENC[suite];
    p.integrity = INTEG[suite];
    p.enc_key_in = reverse ? key_b : key_a;
    p.enc_key_out = reverse ? key_a : key_b;
    p.enc_key_in_len = p.enc_key_out_len = ENC_LEN[suite];
    if (INTEG[suite]) {
        p.integ_key_in = reverse ? int_b : int_a;
        p.integ_key_out = reverse ? int_a : int_b;
        p.integ_key_in_len = p.integ_key_out_len = INTEG_LEN[suite];
    }
    p.remote.sin_family = AF_INET;
    p.remote.sin_port = htons(4500);
    p.remote.sin_addr.s_addr = htonl(0xcb007101); /* 203.0.113.1: never sent (udp_fd is -1) */
    p.replay_window = 1024;
    char err[128];
    struct dp_sa *sa = sa_create(&p, 0, err, sizeof(err));
    if (!sa) {
        fprintf(stderr, "sa_create: %s\n", err);
        abort();
    }
    return sa;
}

static int discard_emit(void *ctx, struct dp_event *ev) {
    (void)ctx;
    free(ev);
    return 0;
}

struct fuzz_dp *fuzz_dp_new(int suite) {
    struct fuzz_dp *f = calloc(1, sizeof(*f));
    struct dataplane *d = dp_alloc();
    FUZZ_ASSERT(f && d);
    f->d = d;
    d->batch = 8;
    d->rx_count = 8;
    d->rx_slot_size = DP_SLOT_SIZE;
    d->udp_fd = -1;
    d->udp_gso = 1;
    d->udp_gro = 0;
    d->emit = discard_emit;
    FUZZ_ASSERT(alloc_buffers(d) == 0);
    sa_table_init(&d->sas);
    iv_pool_init(&d->ivs);

    int pair[2];
    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, pair) == 0);
    int size = 1 << 20;
    setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    struct dp_tunnel *t = &d->tunnels[1];
    t->used = 1;
    t->fd = pair[0];
    t->vnet = 1;
    t->o.tunnel = 1;
    snprintf(t->o.ifname, sizeof(t->o.ifname), "fuzz1");
    t->o.mtu = 1500;
    t->o.address = htonl(0xa9fe0a02);
    t->o.peer = htonl(0xa9fe0a01);
    t->o.prefix_len = 30;
    t->o.path_mtu = 1500;
    f->t = t;
    f->tun_other = pair[1];

    f->in_sa = fuzz_sa(suite, 1, 0x1001, 0x2001, 0);
    FUZZ_ASSERT(sa_table_insert(&d->sas, f->in_sa) == 0);
    f->out_sa = f->in_sa;
    t->out = f->in_sa;
    f->peer_out = fuzz_sa(suite, 2, 0x2001, 0x1001, 1);
    return f;
}

void fuzz_dp_drain(struct fuzz_dp *f) {
    static uint8_t sink[TUN_BUF_SIZE];
    while (read(f->tun_other, sink, sizeof(sink)) > 0) {
    }
    while (read(f->t->fd, sink, sizeof(sink)) > 0) {
    }
}

size_t fuzz_ipv4(uint8_t *out, size_t cap, uint8_t proto, const uint8_t *payload, size_t len) {
    if (20 + len > cap || 20 + len > 65535) len = (cap < 65535 ? cap : 65535) - 20;
    memset(out, 0, 20);
    out[0] = 0x45;
    out[2] = (uint8_t)((20 + len) >> 8);
    out[3] = (uint8_t)(20 + len);
    out[8] = 64;
    out[9] = proto;
    out[12] = 192, out[13] = 0, out[14] = 2, out[15] = 10;
    out[16] = 198, out[17] = 19, out[18] = 0, out[19] = 10;
    uint16_t c = inet_checksum(out, 20);
    out[10] = (uint8_t)(c >> 8);
    out[11] = (uint8_t)c;
    memcpy(out + 20, payload, len);
    return 20 + len;
}
