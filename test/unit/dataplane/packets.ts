/**
 * IPv4 packet builders and checkers for the data-plane tests, written from
 * RFC 791 / 792 / 793 / 768 directly (independent of the C code they check).
 */

export function parseAddress(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** RFC 1071 one's-complement sum, folded and inverted. */
export function checksum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < data.length; i += 2) sum += ((data[i] as number) << 8) | (data[i + 1] as number);
  if (data.length % 2) sum += (data[data.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export interface Ipv4Fields {
  src?: string;
  dst?: string;
  protocol: number;
  payload: Uint8Array;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragmentOffset?: number;
  ttl?: number;
  options?: Uint8Array;
}

export function ipv4(fields: Ipv4Fields): Buffer {
  const options = Buffer.from(fields.options ?? []);
  if (options.length % 4) throw new Error('options must be padded to 4 bytes');
  const hl = 20 + options.length;
  const p = Buffer.alloc(hl + fields.payload.length);
  p[0] = 0x40 | (hl / 4);
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(fields.id ?? 0x1234, 4);
  p.writeUInt16BE((fields.df ? 0x4000 : 0) | (fields.mf ? 0x2000 : 0) | ((fields.fragmentOffset ?? 0) / 8), 6);
  p[8] = fields.ttl ?? 64;
  p[9] = fields.protocol;
  parseAddress(fields.src ?? '10.0.0.1').copy(p, 12);
  parseAddress(fields.dst ?? '10.0.1.1').copy(p, 16);
  options.copy(p, 20);
  p.writeUInt16BE(checksum(p.subarray(0, hl)), 10);
  Buffer.from(fields.payload).copy(p, hl);
  return p;
}

export function headerLength(p: Uint8Array): number {
  return ((p[0] as number) & 0x0f) * 4;
}

export function ipv4HeaderValid(p: Buffer): boolean {
  return checksum(p.subarray(0, headerLength(p))) === 0;
}

function pseudoHeaderSum(p: Buffer, protocol: number, length: number): number {
  const ph = Buffer.alloc(12);
  p.copy(ph, 0, 12, 20);
  ph[9] = protocol;
  ph.writeUInt16BE(length, 10);
  return (~checksum(ph) & 0xffff) >>> 0;
}

/** True when the TCP (or UDP) checksum over pseudo-header + segment verifies. */
export function transportChecksumValid(p: Buffer): boolean {
  const hl = headerLength(p);
  const segment = p.subarray(hl, p.readUInt16BE(2));
  return checksum(segment, pseudoHeaderSum(p, p[9] as number, segment.length)) === 0;
}

export interface TcpFields {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  syn?: boolean;
  ack?: boolean;
  /** TCP options as raw bytes (padded to 4 here). */
  options?: Uint8Array;
  payload?: Uint8Array;
  df?: boolean;
}

export function mssOption(mss: number): Buffer {
  const o = Buffer.alloc(4);
  o[0] = 2;
  o[1] = 4;
  o.writeUInt16BE(mss, 2);
  return o;
}

export function tcp(fields: TcpFields): Buffer {
  let options = Buffer.from(fields.options ?? []);
  if (options.length % 4) options = Buffer.concat([options, Buffer.alloc(4 - (options.length % 4))]);
  const payload = Buffer.from(fields.payload ?? []);
  const seg = Buffer.alloc(20 + options.length + payload.length);
  seg.writeUInt16BE(fields.sport ?? 40000, 0);
  seg.writeUInt16BE(fields.dport ?? 443, 2);
  seg.writeUInt32BE(0x01020304, 4);
  seg.writeUInt32BE(fields.ack ? 0x0a0b0c0d : 0, 8);
  seg[12] = ((20 + options.length) / 4) << 4;
  seg[13] = (fields.syn ? 0x02 : 0) | (fields.ack ? 0x10 : 0);
  seg.writeUInt16BE(64240, 14);
  options.copy(seg, 20);
  payload.copy(seg, 20 + options.length);
  const packet = ipv4({ src: fields.src, dst: fields.dst, protocol: 6, payload: seg, df: fields.df ?? true });
  const sum = checksum(seg, pseudoHeaderSum(packet, 6, seg.length));
  packet.writeUInt16BE(sum, 20 + 16);
  return packet;
}

/** The MSS option value of a TCP packet, or undefined. */
export function tcpMss(p: Buffer): number | undefined {
  const hl = headerLength(p);
  const doff = ((p[hl + 12] as number) >> 4) * 4;
  let i = hl + 20;
  while (i < hl + doff) {
    const kind = p[i] as number;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = p[i + 1] as number;
    if (kind === 2 && len === 4) return p.readUInt16BE(i + 2);
    i += len;
  }
  return undefined;
}

export function udp(fields: { src?: string; dst?: string; sport?: number; dport?: number; payload: Uint8Array; df?: boolean; id?: number }): Buffer {
  const seg = Buffer.alloc(8 + fields.payload.length);
  seg.writeUInt16BE(fields.sport ?? 5000, 0);
  seg.writeUInt16BE(fields.dport ?? 5001, 2);
  seg.writeUInt16BE(seg.length, 4);
  Buffer.from(fields.payload).copy(seg, 8);
  const packet = ipv4({ src: fields.src, dst: fields.dst, protocol: 17, payload: seg, df: fields.df ?? false, id: fields.id });
  let sum = checksum(seg, pseudoHeaderSum(packet, 17, seg.length));
  if (sum === 0) sum = 0xffff;
  packet.writeUInt16BE(sum, 20 + 6);
  return packet;
}

export function icmpEcho(fields: { src?: string; dst?: string; size: number; df?: boolean; type?: number }): Buffer {
  const msg = Buffer.alloc(8 + fields.size);
  msg[0] = fields.type ?? 8;
  msg.writeUInt16BE(0x4242, 4);
  msg.writeUInt16BE(1, 6);
  for (let i = 0; i < fields.size; i++) msg[8 + i] = i & 0xff;
  msg.writeUInt16BE(checksum(msg), 2);
  return ipv4({ src: fields.src, dst: fields.dst, protocol: 1, payload: msg, df: fields.df ?? false });
}

/** Reassembles fragments (any order) into the original packet, per RFC 791. */
export function reassemble(fragments: Buffer[]): Buffer {
  const first = fragments.find((f) => (f.readUInt16BE(6) & 0x1fff) === 0);
  if (!first) throw new Error('no first fragment');
  const hl = headerLength(first);
  const parts = fragments
    .map((f) => ({ offset: (f.readUInt16BE(6) & 0x1fff) * 8, data: f.subarray(headerLength(f), f.readUInt16BE(2)), mf: (f.readUInt16BE(6) & 0x2000) !== 0 }))
    .sort((a, b) => a.offset - b.offset);
  let expected = 0;
  for (const part of parts) {
    if (part.offset !== expected) throw new Error(`gap at ${expected}`);
    expected += part.data.length;
  }
  if (parts[parts.length - 1]?.mf) throw new Error('last fragment has MF set');
  const out = Buffer.concat([first.subarray(0, hl), ...parts.map((p) => p.data)]);
  out.writeUInt16BE(out.length, 2);
  out.writeUInt16BE(out.readUInt16BE(6) & 0x4000, 6);
  out.writeUInt16BE(0, 10);
  out.writeUInt16BE(checksum(out.subarray(0, hl)), 10);
  return out;
}
