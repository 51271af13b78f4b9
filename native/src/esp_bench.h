#ifndef CGWD_ESP_BENCH_H
#define CGWD_ESP_BENCH_H

#include <stddef.h>

/* Runs `count` IPv4 packets of `len` bytes out through sa_output and back through sa_input
 * (esp_bench.c). 0 with the nanoseconds per packet of each direction, or -1 with a message. */
int esp_bench_run(const char *enc, const char *integ, size_t len, int count, double *encap_ns, double *decap_ns, char *err,
                  size_t err_len);

#endif
