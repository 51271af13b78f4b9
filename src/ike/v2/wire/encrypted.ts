/**
 * Layout of the Encrypted payload (RFC 7296 §3.14) as pure byte arithmetic; no cryptography here.
 *
 *   SK body    = IV | ciphertext | ICV
 *   plaintext  = inner payloads | Padding | Pad Length(1)      (ciphertext decrypts to this)
 *
 * Integrity without AEAD covers the whole message from the IKE header through the Pad Length,
 * i.e. everything but the ICV (§3.14); an AEAD authenticates the IKE header through the SK
 * generic header as associated data (RFC 5282 §5.1), and through the SKF header for fragments
 * (RFC 7383 §2.5).
 */
import { Writer } from '../../../wire/buffer.js';
import {
  GENERIC_PAYLOAD_HEADER_LENGTH,
  IKE_HEADER_LENGTH,
  MAX_IKE_MESSAGE_LENGTH,
  PayloadType,
  SKF_HEADER_LENGTH,
} from './constants.js';
import { IkeWireErrorCode as E, wireError } from './errors.js';
import { type IkeHeaderFields, writeHeader } from './header.js';
import { isValidFragmentNumbering } from './payloads.js';

export interface SkBodyParts {
  readonly iv: Buffer;
  /** Encrypted inner payloads + padding + pad length. */
  readonly ciphertext: Buffer;
  readonly icv: Buffer;
}

function checkSize(value: number, what: string, max = MAX_IKE_MESSAGE_LENGTH): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw wireError(E.BAD_VALUE, `${what} ${value}`);
  }
}

function checkBlockSize(blockSize: number): void {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > 256) {
    throw wireError(E.BAD_VALUE, `block size ${blockSize}`);
  }
}

/**
 * Splits an SK body into IV, ciphertext and ICV (views into `body`). The ciphertext must hold at
 * least the Pad Length octet and be a whole number of cipher blocks.
 */
export function splitSkBody(body: Buffer, ivLength: number, icvLength: number, blockSize = 1): SkBodyParts {
  checkSize(ivLength, 'IV length');
  checkSize(icvLength, 'ICV length');
  checkBlockSize(blockSize);
  const ciphertextLength = body.length - ivLength - icvLength;
  if (ciphertextLength < 1) {
    const need = `IV ${ivLength} + ICV ${icvLength} + data`;
    throw wireError(E.TRUNCATED, `SK body of ${body.length} bytes cannot hold ${need}`);
  }
  if (ciphertextLength % blockSize !== 0) {
    throw wireError(E.BAD_LENGTH, `SK ciphertext of ${ciphertextLength} bytes is not a multiple of ${blockSize}`);
  }
  return {
    iv: body.subarray(0, ivLength),
    ciphertext: body.subarray(ivLength, ivLength + ciphertextLength),
    icv: body.subarray(ivLength + ciphertextLength),
  };
}

/**
 * Appends the minimum Padding (zeros) and the Pad Length octet so the result is a multiple of
 * `blockSize` (§3.14: the sender SHOULD use the minimum; any value is allowed in the padding).
 */
export function padPlaintext(plain: Buffer, blockSize: number): Buffer {
  checkBlockSize(blockSize);
  const padLength = (blockSize - ((plain.length + 1) % blockSize)) % blockSize;
  const out = Buffer.alloc(plain.length + padLength + 1);
  plain.copy(out, 0);
  out.writeUInt8(padLength, out.length - 1);
  return out;
}

/**
 * Removes Padding and Pad Length from decrypted data (a view into `padded`). The recipient MUST
 * accept any pad length that gives proper alignment (§3.14), so only "fits" and alignment are checked.
 */
export function unpadPlaintext(padded: Buffer, blockSize = 1): Buffer {
  checkBlockSize(blockSize);
  if (padded.length < 1) throw wireError(E.TRUNCATED, 'decrypted data without a Pad Length octet');
  if (padded.length % blockSize !== 0) {
    throw wireError(E.BAD_LENGTH, `decrypted data of ${padded.length} bytes is not a multiple of ${blockSize}`);
  }
  const padLength = padded.readUInt8(padded.length - 1);
  if (padLength + 1 > padded.length) {
    throw wireError(E.BAD_PADDING, `Pad Length ${padLength} exceeds the ${padded.length - 1} bytes before it`);
  }
  return padded.subarray(0, padded.length - 1 - padLength);
}

/** Non-AEAD integrity: `covered` is the message without its trailing ICV (views into `datagram`). */
export function integrityParts(datagram: Buffer, icvLength: number): { covered: Buffer; icv: Buffer } {
  checkSize(icvLength, 'ICV length');
  if (datagram.length < IKE_HEADER_LENGTH + GENERIC_PAYLOAD_HEADER_LENGTH + icvLength) {
    throw wireError(E.TRUNCATED, `message of ${datagram.length} bytes cannot hold a ${icvLength}-byte ICV`);
  }
  return {
    covered: datagram.subarray(0, datagram.length - icvLength),
    icv: datagram.subarray(datagram.length - icvLength),
  };
}

export interface EncryptedFrameSpec {
  readonly header: IkeHeaderFields;
  /** Type of the first inner payload (from encodeInnerPayloads). */
  readonly firstInnerType: number;
  readonly ivLength: number;
  /** Length of the padded plaintext, which the cipher maps to the same length. */
  readonly ciphertextLength: number;
  readonly icvLength: number;
  /** Builds an SKF (RFC 7383) instead of an SK payload. */
  readonly fragment?: { readonly number: number; readonly total: number };
}

/** A complete outgoing message with empty slots; every Buffer but `message` is a view into it. */
export interface EncryptedFrame {
  readonly message: Buffer;
  /** AEAD associated data: IKE header through the SK (or SKF) header. */
  readonly associatedData: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly icv: Buffer;
  /** Non-AEAD integrity input: everything before the ICV. */
  readonly integrityCovered: Buffer;
}

/**
 * Lays out HDR | SK{IV | ciphertext | ICV} (or SKF) with all lengths and Next Payload fields set,
 * so the crypto layer only writes the IV, ciphertext and ICV into the returned slots.
 */
export function frameEncryptedMessage(spec: EncryptedFrameSpec): EncryptedFrame {
  checkSize(spec.ivLength, 'IV length');
  checkSize(spec.ciphertextLength, 'ciphertext length');
  checkSize(spec.icvLength, 'ICV length');
  if (spec.ciphertextLength < 1) throw wireError(E.BAD_LENGTH, 'ciphertext must hold at least the Pad Length');
  const fragment = spec.fragment;
  if (fragment && !isValidFragmentNumbering(fragment.number, fragment.total)) {
    throw wireError(E.BAD_FRAGMENT, `fragment ${fragment.number} of ${fragment.total}`);
  }
  const skHeaderLength = fragment ? SKF_HEADER_LENGTH : GENERIC_PAYLOAD_HEADER_LENGTH;
  const payloadLength = skHeaderLength + spec.ivLength + spec.ciphertextLength + spec.icvLength;
  const total = IKE_HEADER_LENGTH + payloadLength;
  if (payloadLength > 0xffff || total > MAX_IKE_MESSAGE_LENGTH) {
    throw wireError(E.TOO_LARGE, `encrypted message of ${total} bytes`);
  }
  const w = new Writer(total, MAX_IKE_MESSAGE_LENGTH);
  writeHeader(w, spec.header, fragment ? PayloadType.SKF : PayloadType.SK, total);
  const innerType = !fragment || fragment.number === 1 ? spec.firstInnerType : PayloadType.NONE;
  w.u8(innerType).u8(0).u16(payloadLength);
  if (fragment) w.u16(fragment.number).u16(fragment.total);
  w.zeros(spec.ivLength + spec.ciphertextLength + spec.icvLength);
  const message = w.finish();
  const ivStart = IKE_HEADER_LENGTH + skHeaderLength;
  const ciphertextStart = ivStart + spec.ivLength;
  const icvStart = ciphertextStart + spec.ciphertextLength;
  return {
    message,
    associatedData: message.subarray(0, ivStart),
    iv: message.subarray(ivStart, ciphertextStart),
    ciphertext: message.subarray(ciphertextStart, icvStart),
    icv: message.subarray(icvStart),
    integrityCovered: message.subarray(0, icvStart),
  };
}
