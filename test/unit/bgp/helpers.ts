/**
 * Builders for hand-made BGP bytes, a fake clock for the FSM, and the seeded
 * PRNG the fuzz tests use.
 */
import { expect } from 'vitest';
import { BgpMessageError } from '../../../src/bgp/errors.js';

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[^0-9a-fA-F]/g, ''), 'hex');
}

export const MARKER = 'ff'.repeat(16);

/** A whole message: marker, Length (computed unless given), Type, body. */
export function frame(type: number, body: Buffer | string, length?: number): Buffer {
  const data = typeof body === 'string' ? hex(body) : body;
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(length ?? 19 + data.length, 16);
  head.writeUInt8(type, 18);
  return Buffer.concat([head, data]);
}

/** An attribute: flags, type, length (one octet unless flags has 0x10), value. */
export function attr(flags: number, type: number, value: Buffer | string, length?: number): Buffer {
  const data = typeof value === 'string' ? hex(value) : value;
  const extended = (flags & 0x10) !== 0;
  const head = Buffer.alloc(extended ? 4 : 3);
  head.writeUInt8(flags, 0);
  head.writeUInt8(type, 1);
  if (extended) head.writeUInt16BE(length ?? data.length, 2);
  else head.writeUInt8(length ?? data.length, 2);
  return Buffer.concat([head, data]);
}

/** An UPDATE body from its three parts (lengths computed unless given). */
export function updateBody(withdrawn: Buffer | string, attributes: Buffer | string, nlri: Buffer | string, lengths: { withdrawn?: number; attributes?: number } = {}): Buffer {
  const w = typeof withdrawn === 'string' ? hex(withdrawn) : withdrawn;
  const a = typeof attributes === 'string' ? hex(attributes) : attributes;
  const n = typeof nlri === 'string' ? hex(nlri) : nlri;
  const wl = Buffer.alloc(2);
  wl.writeUInt16BE(lengths.withdrawn ?? w.length, 0);
  const al = Buffer.alloc(2);
  al.writeUInt16BE(lengths.attributes ?? a.length, 0);
  return Buffer.concat([wl, w, al, a, n]);
}

/** Well-formed attributes for an eBGP route from AS 64512 (4-octet AS_PATH unless asn2). */
export const ORIGIN_IGP = attr(0x40, 1, '00');
export const AS_PATH_64512_4 = attr(0x40, 2, '02 01 0000fc00');
export const AS_PATH_64512_2 = attr(0x40, 2, '02 01 fc00');
export const NEXT_HOP_1 = attr(0x40, 3, 'a9fe0a01'); // 169.254.10.1
export const NLRI_10_0_16 = '10 0a00'; // 10.0.0.0/16

/** Runs fn, expects a BgpMessageError, returns [code, subcode, data hex, handling]. */
export function notificationOf(fn: () => unknown): { code: number; subcode: number; data: string; handling: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BgpMessageError);
    const e = error as BgpMessageError;
    return { code: e.errorCode, subcode: e.errorSubcode, data: e.data.toString('hex'), handling: e.handling };
  }
  throw new Error('expected a BgpMessageError');
}

/** mulberry32: small, fast, reproducible. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
