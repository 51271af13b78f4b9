/*
 * Outbound: a packet read from the TUN with a virtio_net_hdr in front (tx.c: tun_readable →
 * checksum offload / TSO split → MSS clamping, DF clearing, fragmentation or ICMP "fragmentation
 * needed" → ESP → UDP GSO batching). The UDP socket is -1, so what would be sent is counted as
 * dropped instead.
 *
 * Input: suite, options (MSS, DF, fragmentation, path MTU), then virtio_net_hdr (10 bytes) and the packet.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct fuzz_dp *made[FUZZ_SUITES];
    if (size < 2 + TUN_VNET_HDR_LEN) return 0;
    int suite = data[0] % FUZZ_SUITES;
    uint8_t opt = data[1];
    data += 2;
    size -= 2;
    if (!made[suite]) made[suite] = fuzz_dp_new(suite);
    struct fuzz_dp *f = made[suite];
    static const int mtus[4] = {1500, 1400, 1280, 576};
    f->t->o.mss = (opt & 1) ? 1360 : 0;
    f->t->o.clear_df = (opt & 2) != 0;
    f->t->o.fragment = (opt & 4) != 0;
    f->t->o.path_mtu = mtus[(opt >> 3) & 3];
    f->d->udp_gso = (opt & 0x20) != 0;
    if (size > TUN_BUF_SIZE) size = TUN_BUF_SIZE;
    if (send(f->tun_other, data, size, 0) < 0) return 0;
    tun_readable(f->d, f->t);
    FUZZ_ASSERT(f->d->tx_count == 0);
    fuzz_dp_drain(f);
    return 0;
}
