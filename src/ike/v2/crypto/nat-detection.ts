/**
 * NAT detection (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP carry
 *
 *   SHA-1(SPIi | SPIr | IP | Port)
 *
 * with the SPIs of the message's header (SPIr is zero in the IKE_SA_INIT request), the IP in
 * network order (4 or 16 octets) and the port as two octets.
 *
 * cgwd always encapsulates ESP in UDP 4500 (design.md): it may claim a NAT on its own side by
 * sending a SOURCE hash that cannot match (§2.23 allows this; strongSwan `encap = yes`), so the
 * peer encapsulates too.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Endpoint } from '../../runtime.js';

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

export function natDetectionHash(spiI: Buffer, spiR: Buffer, endpoint: Endpoint): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(endpoint.port);
  return createHash('sha1').update(spiI).update(spiR).update(addressBytes(endpoint.address)).update(port).digest();
}

/** A SOURCE hash that matches no real address: claims a NAT here to force UDP encapsulation. */
export function forcedEncapsulationHash(spiI: Buffer, spiR: Buffer): Buffer {
  return createHash('sha1').update(spiI).update(spiR).update('cgwd: forced UDP encapsulation').digest();
}
