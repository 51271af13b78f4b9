/** Data given to a MAC or PRF: one buffer, or pieces hashed as if concatenated. */
export type ByteInput = Uint8Array | readonly Uint8Array[];

export function chunksOf(data: ByteInput): readonly Uint8Array[] {
  return data instanceof Uint8Array ? [data] : data;
}

/**
 * Overwrites key material with zeros once it is no longer needed. JavaScript cannot promise the
 * bytes were never copied (V8 may move small buffers, OpenSSL keeps its own copies), so this
 * shortens a secret's life in cgwd's own buffers; it is not a guarantee.
 */
export function wipe(...buffers: readonly (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

/** Big-endian unsigned integer → BigInt (0n for an empty buffer). */
export function bigintFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
}

/** BigInt → big-endian buffer of exactly `length` bytes; the value must fit. */
export function bigintToBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16);
  if (value < 0n || hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return Buffer.from(hex.padStart(length * 2, '0'), 'hex');
}

/** Left-pads with zero bytes to `length` (RFC 7296 §2.14: DH secrets are fixed-width). */
export function leftPad(bytes: Buffer, length: number): Buffer {
  if (bytes.length >= length) return bytes;
  const padded = Buffer.alloc(length);
  bytes.copy(padded, length - bytes.length);
  return padded;
}

/** Hex as RFCs print it (groups of digits, line breaks) → buffer. */
export function bytesFromRfcHex(text: string): Buffer {
  const digits = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error('malformed hex constant');
  return Buffer.from(digits, 'hex');
}
