import { describe, expect, it } from 'vitest';
import { Reader, WireError, Writer } from '../../../src/wire/buffer.js';
import { CgwdError } from '../../../src/errors.js';

function wireCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    expect(error).toBeInstanceOf(CgwdError);
    return (error as WireError).code;
  }
  throw new Error('expected a WireError');
}

describe('Reader', () => {
  it('reads big-endian integers and bytes', () => {
    const r = new Reader(Buffer.from([1, 0, 2, 0, 0, 0, 3, 9, 8, 7]));
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(2);
    expect(r.u32()).toBe(3);
    expect(r.bytes(2)).toEqual(Buffer.from([9, 8]));
    expect(r.remaining).toBe(1);
    expect(r.rest()).toEqual(Buffer.from([7]));
    expect(r.atEnd).toBe(true);
  });

  it('throws TRUNCATED instead of reading past the end, for every width', () => {
    expect(wireCode(() => new Reader(Buffer.alloc(0)).u8())).toBe('TRUNCATED');
    expect(wireCode(() => new Reader(Buffer.alloc(1)).u16())).toBe('TRUNCATED');
    expect(wireCode(() => new Reader(Buffer.alloc(3)).u32())).toBe('TRUNCATED');
    expect(wireCode(() => new Reader(Buffer.alloc(3)).bytes(4))).toBe('TRUNCATED');
    expect(wireCode(() => new Reader(Buffer.alloc(3)).skip(4))).toBe('TRUNCATED');
  });

  it('rejects negative and non-integer counts', () => {
    expect(wireCode(() => new Reader(Buffer.alloc(3)).bytes(-1))).toBe('BAD_LENGTH');
    expect(wireCode(() => new Reader(Buffer.alloc(3)).bytes(1.5))).toBe('BAD_LENGTH');
    expect(wireCode(() => new Reader(Buffer.alloc(3)).sub(Number.NaN))).toBe('BAD_LENGTH');
  });

  it('confines sub-readers to their window and reports absolute offsets', () => {
    const r = new Reader(Buffer.from([0, 1, 2, 3, 4, 5]));
    r.u8();
    const inner = r.sub(2, 'inner');
    expect(inner.u16()).toBe(0x0102);
    expect(r.u8()).toBe(3);
    const error = (() => {
      try {
        inner.u8();
      } catch (e) {
        return e as WireError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('TRUNCATED');
    expect(error?.offset).toBe(3);
    expect(wireCode(() => r.sub(3))).toBe('TRUNCATED');
  });

  it('expectEnd reports trailing bytes', () => {
    const r = new Reader(Buffer.alloc(2));
    r.u8();
    expect(wireCode(() => r.expectEnd())).toBe('TRAILING_DATA');
    r.u8();
    expect(() => r.expectEnd()).not.toThrow();
  });

  it('copies bytes so decoded values never alias the input', () => {
    const input = Buffer.from([1, 2, 3]);
    const copy = new Reader(input).bytes(3);
    input[0] = 9;
    expect(copy[0]).toBe(1);
  });

  it('refuses a window outside its buffer', () => {
    expect(wireCode(() => new Reader(Buffer.alloc(2), 1, 5))).toBe('BAD_LENGTH');
  });
});

describe('Writer', () => {
  it('writes big-endian integers, grows, and patches reserved slots', () => {
    const w = new Writer(16);
    const length = w.reserve(2);
    w.u8(1).u16(0x0203).u32(0x04050607).bytes(Buffer.alloc(100, 0xee)).zeros(3);
    w.patch(length, w.length);
    const out = w.finish();
    expect(out.length).toBe(2 + 1 + 2 + 4 + 100 + 3);
    expect(out.readUInt16BE(0)).toBe(out.length);
    expect(out.subarray(2, 9)).toEqual(Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    expect(out.subarray(out.length - 3)).toEqual(Buffer.alloc(3));
  });

  it('rejects values that do not fit the field', () => {
    expect(wireCode(() => new Writer().u8(256))).toBe('BAD_VALUE');
    expect(wireCode(() => new Writer().u16(-1))).toBe('BAD_VALUE');
    expect(wireCode(() => new Writer().u32(2 ** 32))).toBe('BAD_VALUE');
    const w = new Writer();
    const slot = w.reserve(1);
    expect(wireCode(() => w.patch(slot, 300))).toBe('BAD_VALUE');
  });

  it('enforces its maximum length', () => {
    const w = new Writer(16, 32);
    w.bytes(Buffer.alloc(32));
    expect(wireCode(() => w.u8(0))).toBe('TOO_LARGE');
  });

  it('lengthSince measures from a mark', () => {
    const w = new Writer();
    w.u32(0);
    const mark = w.length;
    w.u16(1).u8(2);
    expect(w.lengthSince(mark)).toBe(3);
  });
});
