/** IP addresses as the wire carries them: 4 octets (IPv4) or 16 (IPv6), network order. */
import { isIPv4, isIPv6 } from 'node:net';

export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map((part) => Number(part)));
  if (isIPv6(address)) return ipv6Bytes(address);
  throw new Error(`not an IP address: ${address}`);
}

function ipv6Bytes(address: string): Buffer {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (isIPv4(dotted)) {
    // Embedded IPv4 (::ffff:192.0.2.1): rewrite as two hex groups.
    const b = dotted.split('.').map(Number) as [number, number, number, number];
    const hi = ((b[0] << 8) | b[1]).toString(16);
    const lo = ((b[2] << 8) | b[3]).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  let groups = parse(head);
  if (rest !== undefined) {
    const after = parse(rest);
    groups = [...groups, ...new Array<number>(8 - groups.length - after.length).fill(0), ...after];
  }
  const out = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
