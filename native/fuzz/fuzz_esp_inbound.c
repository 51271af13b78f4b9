/*
 * Inbound ESP-in-UDP through the data plane's receive path (rx.c: udp_readable → inbound →
 * sa_input → MSS clamping → GRO → TUN), on one SA pair per suite:
 *
 *   forged     the input is a datagram (optionally behind the SA's SPI so it reaches
 *              sa_input): nothing may be accepted — no key, no valid ICV
 *   authentic  up to 4 inner IPv4 packets cut from the input, encrypted by the peer's SA,
 *              some with one byte flipped: exactly the unflipped ones reach the TUN, or
 *              (mode 0x80: ICMP from the probe target, half of them echo replies to the
 *              keepalive's identifier) are consumed by the probes (probe.c) instead
 *
 * Input: suite, mode, then the body.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../src/ipv4.h"
#include "harness.h"

struct inbound {
    struct fuzz_dp *f;
    int udp_other;
};

static struct inbound *setup(int suite) {
    static struct inbound *made[FUZZ_SUITES];
    if (made[suite]) return made[suite];
    struct inbound *in = calloc(1, sizeof(*in));
    FUZZ_ASSERT(in);
    in->f = fuzz_dp_new(suite);
    int pair[2];
    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair) == 0);
    in->f->d->udp_fd = pair[0];
    in->udp_other = pair[1];
    made[suite] = in;
    return in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int suite = data[0] % FUZZ_SUITES;
    uint8_t mode = data[1];
    data += 2;
    size -= 2;
    struct inbound *in = setup(suite);
    struct fuzz_dp *f = in->f;
    f->t->o.mss = (mode & 0x10) ? 1200 : 0;
    struct dp_probe *probe = &f->t->probe;
    probe->on = 1;
    probe->id = 0x4347;
    probe->target = f->t->o.peer;
    __atomic_store_n(&probe->outstanding, (uint32_t)probe->seq | PROBE_OUTSTANDING, __ATOMIC_RELAXED);
    uint64_t before = f->t->ctr_in.packets_in, consumed_before = probe->answered + probe->late;
    static uint8_t buf[DP_SLOT_SIZE];

    if (mode & 1) {
        size_t n = size > 9000 ? 9000 : size;
        size_t off = 0;
        if (mode & 2) {
            buf[0] = 0, buf[1] = 0, buf[2] = 0x10, buf[3] = 0x01; /* the SA's inbound SPI */
            off = 4;
        }
        memcpy(buf + off, data, n);
        (void)send(in->udp_other, buf, off + n, 0);
        udp_readable(f->d);
        FUZZ_ASSERT(f->t->ctr_in.packets_in == before);
    } else {
        int count = 1 + ((mode >> 2) & 3), intact = 0;
        size_t chunk = size / (size_t)count;
        for (int k = 0; k < count; k++) {
            const uint8_t *part = data + (size_t)k * chunk;
            size_t len = chunk > 1400 ? 1400 : chunk;
            uint8_t *inner = buf + ESP_PREFIX;
            size_t total = fuzz_ipv4(inner, DP_MAX_PKT, (mode & 0x80) ? 1 : (mode & 0x20) ? 17 : 6, part, len);
            if (mode & 0x80) {
                /* From the probe target to our address; half of them an echo reply to our identifier. */
                memcpy(inner + 12, &f->t->o.peer, 4);
                memcpy(inner + 16, &f->t->o.address, 4);
                if (len >= 8 && (part[0] & 2)) {
                    inner[20] = 0;
                    inner[24] = 0x43, inner[25] = 0x47;
                }
                inner[10] = inner[11] = 0;
                uint16_t c = inet_checksum(inner, 20);
                inner[10] = (uint8_t)(c >> 8);
                inner[11] = (uint8_t)c;
            }
            uint8_t *esp;
            size_t esp_len;
            enum dp_drop why;
            FUZZ_ASSERT(sa_output(f->peer_out, &f->d->ivs, buf, total, &esp, &esp_len, &why) == 0);
            int flip = (mode & 0x40) && len > 0 && (part[0] & 1);
            if (flip) esp[part[len - 1] % esp_len] ^= (uint8_t)(1u << (part[0] % 8));
            else intact++;
            (void)send(in->udp_other, esp, esp_len, 0);
        }
        udp_readable(f->d);
        uint64_t consumed = probe->answered + probe->late - consumed_before;
        FUZZ_ASSERT(f->t->ctr_in.packets_in - before + consumed == (uint64_t)intact);
        FUZZ_ASSERT((mode & 0x80) || consumed == 0);
    }
    fuzz_dp_drain(f);
    return 0;
}
