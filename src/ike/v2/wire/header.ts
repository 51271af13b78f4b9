/**
 * The fixed IKE header (RFC 7296 §3.1), 28 octets at the start of every IKEv2 message:
 *
 *   SPIi(8) SPIr(8) NextPayload(1) Major|Minor(1) ExchangeType(1) Flags |X|X|R|V|I|X|X|X|(1)
 *   MessageID(4) Length(4, whole message including this header)
 *
 * On UDP 4500 the caller strips the four zero octets (non-ESP marker) before decoding.
 */
import { Reader, Writer } from '../../../wire/buffer.js';
import {
  HeaderFlag,
  IKE_MAJOR_VERSION,
  IKE_MINOR_VERSION,
  IKE_SPI_LENGTH,
  MAX_IKE_MESSAGE_LENGTH,
} from './constants.js';
import { IkeWireErrorCode as E, InvalidMajorVersionError, wireError } from './errors.js';

export interface IkeFlags {
  /** I: sent by the original initiator of the IKE SA. */
  readonly initiator: boolean;
  /** R: this message is a response. */
  readonly response: boolean;
  /** V: the sender can speak a higher major version. Sent as false. */
  readonly version: boolean;
}

/** The header fields a sender chooses; Next Payload and Length are computed on encode. */
export interface IkeHeaderFields {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly exchangeType: number;
  readonly flags: IkeFlags;
  readonly messageId: number;
}

export interface IkeHeader extends IkeHeaderFields {
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly length: number;
}

function isZero(bytes: Buffer): boolean {
  return bytes.every((b) => b === 0);
}

function flagsFromByte(byte: number): IkeFlags {
  return {
    initiator: (byte & HeaderFlag.INITIATOR) !== 0,
    response: (byte & HeaderFlag.RESPONSE) !== 0,
    version: (byte & HeaderFlag.VERSION) !== 0,
  };
}

export function flagsToByte(flags: IkeFlags): number {
  return (
    (flags.initiator ? HeaderFlag.INITIATOR : 0) |
    (flags.response ? HeaderFlag.RESPONSE : 0) |
    (flags.version ? HeaderFlag.VERSION : 0)
  );
}

/**
 * Decodes and checks the fixed IKE header. Throws InvalidMajorVersionError for major ≠ 2 (with
 * what is needed to answer), LENGTH_MISMATCH when the Length field is not the datagram length.
 */
export function decodeHeader(datagram: Buffer): IkeHeader {
  if (datagram.length > MAX_IKE_MESSAGE_LENGTH) {
    throw wireError(E.TOO_LARGE, `IKE message of ${datagram.length} bytes exceeds ${MAX_IKE_MESSAGE_LENGTH}`);
  }
  const r = new Reader(datagram, 0, datagram.length, 'IKE header');
  const spiI = r.bytes(IKE_SPI_LENGTH, 'initiator SPI');
  const spiR = r.bytes(IKE_SPI_LENGTH, 'responder SPI');
  const nextPayload = r.u8('next payload');
  const version = r.u8('version');
  const exchangeType = r.u8('exchange type');
  const flagsByte = r.u8('flags');
  const messageId = r.u32('message id');
  const length = r.u32('length');
  const majorVersion = version >> 4;
  const minorVersion = version & 0x0f;
  if (majorVersion !== IKE_MAJOR_VERSION) {
    throw new InvalidMajorVersionError(majorVersion, minorVersion, {
      spiI,
      spiR,
      exchangeType,
      messageId,
      flags: flagsByte,
    });
  }
  if (length !== datagram.length) {
    throw wireError(E.LENGTH_MISMATCH, `IKE header Length ${length} but datagram has ${datagram.length} bytes`, 24);
  }
  if (isZero(spiI)) throw wireError(E.BAD_VALUE, "initiator's SPI is zero (RFC 7296 §3.1)", 0);
  return {
    spiI,
    spiR,
    nextPayload,
    majorVersion,
    minorVersion,
    exchangeType,
    flags: flagsFromByte(flagsByte),
    messageId,
    length,
  };
}

/** Writes the 28-byte header; X flag bits are zero and the minor version is 0 (§3.1). */
export function writeHeader(w: Writer, header: IkeHeaderFields, nextPayload: number, length: number): void {
  if (header.spiI.length !== IKE_SPI_LENGTH || header.spiR.length !== IKE_SPI_LENGTH) {
    throw wireError(E.BAD_LENGTH, 'IKE SPIs must be 8 bytes');
  }
  if (isZero(header.spiI)) throw wireError(E.BAD_VALUE, "initiator's SPI is zero");
  if (length > MAX_IKE_MESSAGE_LENGTH) throw wireError(E.TOO_LARGE, `IKE message of ${length} bytes`);
  w.bytes(header.spiI).bytes(header.spiR);
  w.u8(nextPayload).u8((IKE_MAJOR_VERSION << 4) | IKE_MINOR_VERSION);
  w.u8(header.exchangeType).u8(flagsToByte(header.flags));
  w.u32(header.messageId).u32(length);
}

