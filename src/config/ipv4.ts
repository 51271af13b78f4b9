/** IPv4 addresses as unsigned 32-bit numbers; strict dotted-quad parsing (no leading zeros, no shorthand). */

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function parseIpv4(text: string): number | undefined {
  const m = DOTTED_QUAD.exec(text);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** "255.255.255.252" → 30; undefined when the mask is not contiguous. */
export function maskToPrefixLength(mask: number): number | undefined {
  for (let bits = 0; bits <= 32; bits++) if (prefixMask(bits) === mask) return bits;
  return undefined;
}

export interface Ipv4Cidr {
  readonly network: number;
  readonly prefixLength: number;
}

/** Parses "a.b.c.d/n"; `network` keeps the host bits as written (see isNetworkAddress). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^(3[0-2]|[12]?[0-9])$/.test(lengthText)) return undefined;
  return { network: address, prefixLength: Number(lengthText) };
}

export function isNetworkAddress(cidr: Ipv4Cidr): boolean {
  return (cidr.network & ~prefixMask(cidr.prefixLength)) >>> 0 === 0;
}

export function networkOf(address: number, prefixLength: number): number {
  return (address & prefixMask(prefixLength)) >>> 0;
}

export function formatCidr(network: number, prefixLength: number): string {
  return `${formatIpv4(network)}/${prefixLength}`;
}

export function cidrContains(outer: Ipv4Cidr, address: number): boolean {
  return networkOf(address, outer.prefixLength) === networkOf(outer.network, outer.prefixLength);
}

/** Addresses that can never be a tunnel endpoint: 0/8, loopback, multicast, reserved, broadcast. */
export function isUnicastEndpoint(address: number): boolean {
  const first = address >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}
