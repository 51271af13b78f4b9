/*
 * What the libFuzzer targets share: a data plane assembled by hand (no thread, no namespace,
 * no TUN device, no UDP socket), so the packet paths run exactly as in the addon but on the
 * fuzzer's thread. The "TUN" is one end of an AF_UNIX SOCK_SEQPACKET pair (one read = one
 * packet, as with a TUN); the UDP socket is -1, so sendmmsg fails and every datagram is
 * counted as a drop: nothing leaves the process.
 */
#ifndef CGWD_FUZZ_HARNESS_H
#define CGWD_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "../src/loop_internal.h"

struct fuzz_dp {
    struct dataplane *d;
    struct dp_tunnel *t;
    int tun_other; /* the fuzzer's end of the TUN pair */
    struct dp_sa *out_sa, *in_sa; /* the data plane's SA pair (tunnel 1) */
    struct dp_sa *peer_out;       /* the peer's outbound SA: encrypts what in_sa accepts */
};

/* Suites by index (0..5): GCM-128, GCM-256, CBC-128/SHA1, CBC-256/SHA256, CBC-128/SHA384, CBC-256/SHA512. */
#define FUZZ_SUITES 6
void fuzz_suite(int index, const char **enc, const char **integ);

/* An SA with fixed keys; `reverse` swaps the directions (the peer's view of the same pair). */
struct dp_sa *fuzz_sa(int suite, uint32_t id, uint32_t spi_in, uint32_t spi_out, int reverse);

/* A data plane with tunnel 1 (vnet headers on), the SA pair installed. */
struct fuzz_dp *fuzz_dp_new(int suite);
void fuzz_dp_drain(struct fuzz_dp *f);

/* An IPv4 packet (header 20 bytes, protocol `proto`) around `payload`; returns its length. */
size_t fuzz_ipv4(uint8_t *out, size_t cap, uint8_t proto, const uint8_t *payload, size_t len);

#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
