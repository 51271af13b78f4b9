/*
 * The IPv4 helpers on their own, with their invariants (ipv4.c):
 *   0 fragmentation: every fragment fits `max`, is a valid IPv4 packet, and the payloads add up
 *   1 MSS clamping: length unchanged; a packet valid before is valid after
 *   2 ICMP "fragmentation needed" for any packet: bounded by the ICMP buffer
 *   3 checksum completion and TSO: every segment fits gso + headers
 * Input: mode, a parameter byte, then the packet.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../src/ipv4.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t mode = data[0] & 3, param = data[1];
    data += 2;
    size -= 2;
    if (size > 65535) size = 65535;
    static uint8_t pkt[65536 + 64], out[65536 + 64];
    memcpy(pkt, data, size);
    switch (mode) {
    case 0: {
        size_t total = ipv4_total_length(pkt, size);
        if (!total) return 0;
        size_t max = 68 + (size_t)param * 8;
        struct ipv4_frag_iter it;
        if (ipv4_frag_begin(&it, pkt, total, max) != 0) return 0;
        size_t hl = (size_t)(pkt[0] & 0x0f) * 4, payload = 0;
        for (int guard = 0; guard < 70000; guard++) {
            size_t n = ipv4_frag_next(&it, out);
            if (n == 0) break;
            FUZZ_ASSERT(n <= max);
            size_t fl = ipv4_total_length(out, n);
            FUZZ_ASSERT(fl == n);
            payload += n - (size_t)(out[0] & 0x0f) * 4;
        }
        FUZZ_ASSERT(payload == total - hl);
        break;
    }
    case 1: {
        size_t valid = ipv4_total_length(pkt, size);
        (void)ipv4_clamp_mss(pkt, size, (uint16_t)(536 + param));
        if (valid) FUZZ_ASSERT(ipv4_total_length(pkt, size) == valid);
        (void)ipv4_clear_df(pkt);
        break;
    }
    case 2: {
        size_t n = ipv4_frag_needed(pkt, size, 0x0a000001, (uint16_t)(576 + param), 7, out);
        FUZZ_ASSERT(n <= 640);
        break;
    }
    default: {
        (void)l4_checksum_finish(pkt, size, (size_t)(param & 63), (size_t)(param >> 6) * 2 + 6);
        memcpy(pkt, data, size);
        size_t gso = 1 + (size_t)param * 8;
        struct tso_iter it;
        if (tso_begin(&it, pkt, size, gso) != 0) return 0;
        for (int guard = 0; guard < 70000; guard++) {
            size_t n = tso_next(&it, out);
            if (n == 0) break;
            FUZZ_ASSERT(n <= it.hlen + gso);
        }
        break;
    }
    }
    return 0;
}
