/** Inbound ESP SPIs: random, never 0–255 (reserved, RFC 4303 §2.1), unique within the IKE SA. */
import type { IkeSa } from '../sa/ike-sa.js';

const RESERVED_SPI_MAX = 255;

export function newChildSpi(sa: IkeSa): Buffer {
  for (;;) {
    const spi = sa.ctx.random.bytes(4);
    const value = spi.readUInt32BE(0);
    if (value <= RESERVED_SPI_MAX) continue;
    if (sa.children.some((c) => c.spiIn === value)) continue;
    return spi;
  }
}
