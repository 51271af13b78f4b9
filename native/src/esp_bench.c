/*
 * The per-packet ESP path on its own, for `cgwd lab bench --esp-only` (through the testing
 * addon, so it runs on the OpenSSL inside Node, as the daemon does).
 *
 * One SA whose inbound and outbound halves share keys and SPI, so every packet it
 * encapsulates (sa_output) it can decapsulate again (sa_input): the functions the packet
 * thread calls, with their sequence numbers, replay window, padding and inner-header
 * checks, but no syscalls. The time is the machine's (noisy when shared); the instruction
 * count is not: under `valgrind --tool=callgrind --toggle-collect=sa_output` (or sa_input)
 * the count is the same run after run (src/lab/esp-bench.ts).
 */
#include "esp_bench.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane.h"
#include "ipv4.h"
#include "sa.h"

#define RING 64

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* An IPv4/UDP packet of `len` bytes (a valid inner header: sa_input checks it). */
static void inner_packet(uint8_t *p, size_t len) {
    memset(p, 0x5a, len);
    p[0] = 0x45, p[1] = 0;
    p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    p[4] = p[5] = 0, p[6] = p[7] = 0, p[8] = 64, p[9] = 17;
    p[10] = p[11] = 0;
    const uint8_t src[4] = {192, 0, 2, 10}, dst[4] = {198, 19, 0, 10};
    memcpy(p + 12, src, 4), memcpy(p + 16, dst, 4);
    uint16_t sum = inet_checksum(p, 20);
    p[10] = (uint8_t)(sum >> 8), p[11] = (uint8_t)sum;
    p[20] = 0x13, p[21] = 0x88, p[22] = 0x14, p[23] = 0xb5;
    p[24] = (uint8_t)((len - 20) >> 8), p[25] = (uint8_t)(len - 20), p[26] = p[27] = 0;
}

int esp_bench_run(const char *enc, const char *integ, size_t len, int count, double *encap_ns, double *decap_ns, char *err,
                  size_t err_len) {
    uint8_t key[36], ikey[64];
    for (size_t i = 0; i < sizeof(key); i++) key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(ikey); i++) ikey[i] = (uint8_t)(i * 11 + 3);
    struct esp_suite s;
    if (len < 28 || len > DP_MAX_PKT || count < 1) {
        snprintf(err, err_len, "size must be 28..%d and count at least 1", DP_MAX_PKT);
        return -1;
    }
    if (esp_suite_lookup(enc, integ, &s) != 0) {
        snprintf(err, err_len, "unsupported transform");
        return -1;
    }
    size_t klen = (size_t)s.key_len + s.salt_len;
    struct sa_params p = {.id = 1, .tunnel = 1, .spi_in = 0x1000, .spi_out = 0x1000, .encryption = enc,
                          .integrity = integ, .enc_key_in = key, .enc_key_out = key, .enc_key_in_len = klen,
                          .enc_key_out_len = klen, .integ_key_in = ikey, .integ_key_out = ikey,
                          .integ_key_in_len = s.integ_key_len, .integ_key_out_len = s.integ_key_len,
                          .replay_window = 1024};
    struct dp_sa *sa = sa_create(&p, 0, err, err_len);
    if (!sa) return -1;
    struct iv_pool ivs;
    iv_pool_init(&ivs);
    static uint8_t slots[RING][DP_SLOT_SIZE]; /* the JavaScript thread only: one run at a time */
    static uint8_t wire[RING][DP_SLOT_SIZE];
    size_t wire_len[RING];
    uint8_t plain[DP_MAX_PKT];
    inner_packet(plain, len);
    uint64_t enc_ns = 0, dec_ns = 0;
    for (int done = 0; done < count;) {
        int n = count - done < RING ? count - done : RING;
        for (int i = 0; i < n; i++) memcpy(slots[i] + ESP_PREFIX, plain, len);
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++) {
            uint8_t *esp;
            size_t esp_len;
            enum dp_drop why;
            if (sa_output(sa, &ivs, slots[i], len, &esp, &esp_len, &why) != 0) {
                snprintf(err, err_len, "packet %d was dropped on the way out (%d)", done + i, (int)why);
                sa_destroy(sa);
                return -1;
            }
            memcpy(wire[i], esp, esp_len); /* what the socket would carry */
            wire_len[i] = esp_len;
        }
        uint64_t t1 = now_ns();
        for (int i = 0; i < n; i++) {
            uint8_t *inner;
            size_t inner_len;
            enum dp_drop why;
            if (sa_input(sa, wire[i], wire_len[i], &inner, &inner_len, &why) != 0 || inner_len != len ||
                memcmp(inner, plain, len) != 0) {
                snprintf(err, err_len, "packet %d did not come back (%d)", done + i, (int)why);
                sa_destroy(sa);
                return -1;
            }
        }
        uint64_t t2 = now_ns();
        enc_ns += t1 - t0;
        dec_ns += t2 - t1;
        done += n;
    }
    *encap_ns = (double)enc_ns / count;
    *decap_ns = (double)dec_ns / count;
    sa_destroy(sa);
    return 0;
}
