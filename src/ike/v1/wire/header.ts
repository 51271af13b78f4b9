/**
 * The ISAKMP header (RFC 2408 §3.1):
 *
 *   Initiator Cookie (8) | Responder Cookie (8) | Next Payload (1) | MjVer|MnVer (1)
 *   | Exchange Type (1) | Flags (1) | Message ID (4) | Length (4)
 *
 * Major version must be 1 (an IKEv2 header, major 2, is refused with IsakmpVersionError before
 * any payload is looked at); Length must equal the datagram; unknown flag bits are ignored.
 */
import { Reader, type Writer } from '../../../wire/buffer.js';
import { COOKIE_LENGTH, HeaderFlag, ISAKMP_HEADER_LENGTH, ISAKMP_MAJOR_VERSION, ISAKMP_MINOR_VERSION, LIMITS } from '../constants.js';
import { IsakmpVersionError, V1WireErrorCode, v1WireError } from './errors.js';

export interface HeaderFlags {
  readonly encryption: boolean;
  readonly commit: boolean;
  readonly authenticationOnly: boolean;
}

export interface IsakmpHeaderFields {
  readonly cookieI: Buffer;
  readonly cookieR: Buffer;
  readonly exchangeType: number;
  readonly flags: HeaderFlags;
  readonly messageId: number;
}

export interface IsakmpHeader extends IsakmpHeaderFields {
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly length: number;
}

export const NO_FLAGS: HeaderFlags = { encryption: false, commit: false, authenticationOnly: false };

export function flagsByte(flags: HeaderFlags): number {
  return (flags.encryption ? HeaderFlag.ENCRYPTION : 0) | (flags.commit ? HeaderFlag.COMMIT : 0) | (flags.authenticationOnly ? HeaderFlag.AUTHENTICATION_ONLY : 0);
}

export function decodeHeader(data: Buffer): IsakmpHeader {
  if (data.length < ISAKMP_HEADER_LENGTH) {
    throw v1WireError(V1WireErrorCode.TRUNCATED, `ISAKMP header needs ${ISAKMP_HEADER_LENGTH} bytes, got ${data.length}`, 0);
  }
  const r = new Reader(data, 0, ISAKMP_HEADER_LENGTH, 'ISAKMP header');
  const cookieI = r.bytes(COOKIE_LENGTH, 'initiator cookie');
  const cookieR = r.bytes(COOKIE_LENGTH, 'responder cookie');
  const nextPayload = r.u8('next payload');
  const version = r.u8('version');
  const majorVersion = version >> 4;
  const minorVersion = version & 0x0f;
  if (majorVersion !== ISAKMP_MAJOR_VERSION) throw new IsakmpVersionError(majorVersion, minorVersion);
  const exchangeType = r.u8('exchange type');
  const flags = r.u8('flags');
  const messageId = r.u32('message ID');
  const length = r.u32('length');
  if (length !== data.length) {
    throw v1WireError(V1WireErrorCode.LENGTH_MISMATCH, `header length ${length} differs from the ${data.length}-byte datagram`, 24);
  }
  if (length > LIMITS.messageLength) throw v1WireError(V1WireErrorCode.TOO_LARGE, `message of ${length} bytes`, 24);
  return {
    cookieI,
    cookieR,
    nextPayload,
    majorVersion,
    minorVersion,
    exchangeType,
    flags: {
      encryption: (flags & HeaderFlag.ENCRYPTION) !== 0,
      commit: (flags & HeaderFlag.COMMIT) !== 0,
      authenticationOnly: (flags & HeaderFlag.AUTHENTICATION_ONLY) !== 0,
    },
    messageId,
    length,
  };
}

/** Writes the header with a placeholder length; returns the slot to patch once the body is known. */
export function writeHeader(w: Writer, h: IsakmpHeaderFields, nextPayload: number, length: number): void {
  if (h.cookieI.length !== COOKIE_LENGTH || h.cookieR.length !== COOKIE_LENGTH) {
    throw v1WireError(V1WireErrorCode.BAD_LENGTH, 'cookies are 8 bytes');
  }
  w.bytes(h.cookieI).bytes(h.cookieR).u8(nextPayload).u8((ISAKMP_MAJOR_VERSION << 4) | ISAKMP_MINOR_VERSION);
  w.u8(h.exchangeType).u8(flagsByte(h.flags)).u32(h.messageId).u32(length);
}
