/**
 * Cuts a TCP byte stream into BGP messages. TCP may split or join messages
 * anywhere, so bytes are held until a whole message (its Length field says how
 * long) has arrived. The header is checked as early as its bytes allow: a
 * marker byte that is not 0xFF fails at once (Connection Not Synchronized,
 * RFC 4271 §6.1), a Length outside 19..4096 fails as soon as the two Length
 * octets are in (Bad Message Length, data = the Length field). Message type and
 * per-type length checks belong to the decoder. At most one message plus one
 * chunk is ever held.
 */
import { ErrorCode, HEADER_LENGTH, HeaderErrorSubcode, MARKER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { BgpMessageError, u16Data } from './errors.js';

const LENGTH_OFFSET = MARKER_LENGTH;
const TYPE_OFFSET = MARKER_LENGTH + 2;

/** Throws 1/1 if any of the first `available` marker octets is not 0xFF. */
export function checkMarker(buffer: Buffer, available = buffer.length): void {
  const end = Math.min(available, MARKER_LENGTH);
  for (let i = 0; i < end; i++) {
    if (buffer[i] !== 0xff) {
      throw new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED, `marker octet ${i} is not 0xFF`);
    }
  }
}

/** Throws 1/2 unless 19 <= length <= 4096 (RFC 4271 §4.1, §6.1). */
export function checkLengthField(length: number): void {
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) {
    throw new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH, `message length ${length} outside ${HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`, {
      data: u16Data(length),
    });
  }
}

export function readLengthField(buffer: Buffer): number {
  return buffer.readUInt16BE(LENGTH_OFFSET);
}

export function readTypeField(buffer: Buffer): number {
  return buffer.readUInt8(TYPE_OFFSET);
}

export interface FramerResult {
  /** Complete messages, header included, each a copy, in stream order. */
  readonly frames: Buffer[];
  /** The header fault that stopped the stream after `frames`, if any. */
  readonly error?: BgpMessageError;
}

export class BgpFramer {
  private held: Buffer = Buffer.alloc(0);
  private failed = false;

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.held.length;
  }

  /**
   * Adds received bytes and returns every message now complete. Messages before
   * a header fault are still returned, ahead of the fault. After a fault the
   * stream is out of sync and every later call returns nothing.
   */
  push(chunk: Buffer): FramerResult {
    if (this.failed) return { frames: [] };
    this.held = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const frames: Buffer[] = [];
    let start = 0;
    try {
      while (this.held.length - start > 0) {
        const view = this.held.subarray(start);
        checkMarker(view);
        if (view.length < TYPE_OFFSET) break;
        const length = readLengthField(view);
        checkLengthField(length);
        if (view.length < length) break;
        frames.push(Buffer.from(view.subarray(0, length)));
        start += length;
      }
    } catch (error) {
      this.failed = true;
      this.held = Buffer.alloc(0);
      if (error instanceof BgpMessageError) return { frames, error };
      throw error;
    }
    this.held = start === this.held.length ? Buffer.alloc(0) : Buffer.from(this.held.subarray(start));
    return { frames };
  }
}
