/** Looking at what went over the fake wire: ISAKMP header fields of captured datagrams. */
import type { Wire } from '../../harness/network.js';

export const exchangeOf = (w: Wire): number => w.data[18] ?? -1;
export const flagsOf = (w: Wire): number => w.data[19] ?? 0;
export const encrypted = (w: Wire): boolean => (flagsOf(w) & 0x01) !== 0;
export const messageIdOf = (w: Wire): number => w.data.readUInt32BE(20);

export function ofExchange(wires: readonly Wire[], exchange: number): Wire[] {
  return wires.filter((w) => exchangeOf(w) === exchange);
}

/** Sets the Commit bit of a header (not covered by encryption or HASH, RFC 2408 §3.1). */
export function withCommit(w: Wire): Wire {
  const data = Buffer.from(w.data);
  data[19] = (data[19] ?? 0) | 0x02;
  return { ...w, data };
}
