/**
 * Bounded cursor reader and growing writer for binary protocols (IKEv2, IKEv1,
 * BGP). Shaped like pg-protocol's BufferReader/Writer, with one difference
 * that matters for a daemon facing the Internet: every read is bounds-checked
 * and a short or inconsistent buffer throws a {@link WireError} with a stable
 * code, never a RangeError, never a read past the end.
 *
 * Nested structures are read through {@link Reader.sub}, which hands out a
 * child reader confined to the declared length, so a bad inner length can
 * never reach bytes that belong to the outer structure.
 */
import { CgwdError } from '../errors.js';

/** Codes every binary codec may raise; protocol codecs add their own. */
export const WireErrorCode = {
  /** Fewer bytes than a field or declared length needs. */
  TRUNCATED: 'TRUNCATED',
  /** A length field is impossible (too small, too large, inconsistent). */
  BAD_LENGTH: 'BAD_LENGTH',
  /** Bytes left over after a structure that must fill its container. */
  TRAILING_DATA: 'TRAILING_DATA',
  /** A field holds a value outside its allow-list or range. */
  BAD_VALUE: 'BAD_VALUE',
  /** A message or count exceeds a bound this implementation enforces. */
  TOO_LARGE: 'TOO_LARGE',
} as const;

export interface WireErrorDetails {
  /** Offset (in the outermost buffer) where the problem was found. */
  readonly offset?: number;
  readonly cause?: unknown;
}

/** A malformed or unacceptable encoding. `code` is stable; the message never carries payload bytes. */
export class WireError extends CgwdError {
  readonly offset: number | undefined;
  constructor(code: string, message: string, details: WireErrorDetails = {}) {
    super(code, details.offset === undefined ? message : `${message} (at offset ${details.offset})`, {
      cause: details.cause,
    });
    this.offset = details.offset;
  }
}

function assertCount(n: number, what: string, offset: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WireError(WireErrorCode.BAD_LENGTH, `${what}: invalid byte count ${n}`, { offset });
  }
}

/**
 * Reads big-endian integers and byte strings from `buffer[start, end)`.
 * Offsets reported in errors are absolute positions in `buffer`.
 */
export class Reader {
  private position: number;

  constructor(
    private readonly buffer: Buffer,
    private readonly start = 0,
    private readonly end = buffer.length,
    /** Names the structure in error messages ("SA payload", "BGP OPEN"). */
    readonly label = 'buffer',
  ) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > buffer.length || start > end) {
      const window = `[${start}, ${end})`;
      throw new WireError(WireErrorCode.BAD_LENGTH, `${label}: window ${window} outside a ${buffer.length}-byte buffer`);
    }
    this.position = start;
  }

  /** Bytes consumed so far, relative to the window start. */
  get offset(): number {
    return this.position - this.start;
  }

  /** Absolute position of the cursor in the underlying buffer. */
  get absoluteOffset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  get atEnd(): boolean {
    return this.position === this.end;
  }

  private take(n: number, what: string): number {
    assertCount(n, `${this.label} ${what}`, this.position);
    if (n > this.end - this.position) {
      throw new WireError(
        WireErrorCode.TRUNCATED,
        `${this.label}: ${what} needs ${n} bytes, ${this.end - this.position} left`,
        { offset: this.position },
      );
    }
    const at = this.position;
    this.position += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.buffer.readUInt8(this.take(1, what));
  }

  u16(what = 'u16'): number {
    return this.buffer.readUInt16BE(this.take(2, what));
  }

  u32(what = 'u32'): number {
    return this.buffer.readUInt32BE(this.take(4, what));
  }

  /** A copy of the next `n` bytes (decoded values never alias the datagram). */
  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.take(n, what);
    return Buffer.from(this.buffer.subarray(at, at + n));
  }

  /** A copy of everything left in the window. */
  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }

  skip(n: number, what = 'reserved'): void {
    this.take(n, what);
  }

  /**
   * A reader confined to the next `n` bytes; this reader moves past them.
   * Throws TRUNCATED when the declared length runs past the window.
   */
  sub(n: number, label = this.label): Reader {
    const at = this.take(n, `${label} (declared ${n} bytes)`);
    return new Reader(this.buffer, at, at + n, label);
  }

  /** Throws TRAILING_DATA unless the window is fully consumed. */
  expectEnd(what = this.label): void {
    if (this.position !== this.end) {
      const extra = this.end - this.position;
      throw new WireError(WireErrorCode.TRAILING_DATA, `${what}: ${extra} unexpected trailing bytes`, {
        offset: this.position,
      });
    }
  }
}

/** A reserved fixed-size field whose value is written later with {@link Writer.patch}. */
export interface Slot {
  readonly position: number;
  readonly size: 1 | 2 | 4;
}

const MAX_FOR_SIZE = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff } as const;

/** Appends big-endian integers and bytes to a buffer that grows as needed, up to `maxLength`. */
export class Writer {
  private buffer: Buffer;
  private used = 0;

  constructor(
    initialCapacity = 256,
    private readonly maxLength = 1024 * 1024,
  ) {
    this.buffer = Buffer.alloc(Math.max(16, Math.min(initialCapacity, maxLength)));
  }

  get length(): number {
    return this.used;
  }

  private ensure(n: number): number {
    const needed = this.used + n;
    if (needed > this.maxLength) {
      throw new WireError(WireErrorCode.TOO_LARGE, `encoding exceeds ${this.maxLength} bytes`);
    }
    if (needed > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = Buffer.alloc(Math.min(capacity, this.maxLength));
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    const at = this.used;
    this.used = needed;
    return at;
  }

  private checkValue(value: number, size: 1 | 2 | 4): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_FOR_SIZE[size]) {
      throw new WireError(WireErrorCode.BAD_VALUE, `value ${value} does not fit in ${size * 8} bits`);
    }
  }

  private put(at: number, value: number, size: 1 | 2 | 4): void {
    this.checkValue(value, size);
    if (size === 1) this.buffer.writeUInt8(value, at);
    else if (size === 2) this.buffer.writeUInt16BE(value, at);
    else this.buffer.writeUInt32BE(value, at);
  }

  u8(value: number): this {
    this.checkValue(value, 1);
    this.put(this.ensure(1), value, 1);
    return this;
  }

  u16(value: number): this {
    this.checkValue(value, 2);
    this.put(this.ensure(2), value, 2);
    return this;
  }

  u32(value: number): this {
    this.checkValue(value, 4);
    this.put(this.ensure(4), value, 4);
    return this;
  }

  bytes(data: Uint8Array): this {
    const at = this.ensure(data.length);
    this.buffer.set(data, at);
    return this;
  }

  /** `n` zero bytes (RESERVED fields). */
  zeros(n: number): this {
    assertCount(n, 'zeros', this.used);
    this.ensure(n);
    return this;
  }

  /** Reserves a length/count field to be filled in once the value is known. */
  reserve(size: 1 | 2 | 4): Slot {
    const position = this.ensure(size);
    return { position, size };
  }

  patch(slot: Slot, value: number): this {
    if (slot.position + slot.size > this.used) {
      throw new WireError(WireErrorCode.BAD_LENGTH, `slot at ${slot.position} is outside the written data`);
    }
    this.put(slot.position, value, slot.size);
    return this;
  }

  /** Bytes written since `from` (e.g. a length that includes its own header). */
  lengthSince(from: number): number {
    return this.used - from;
  }

  /** A copy of the written bytes. */
  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.used));
  }
}
