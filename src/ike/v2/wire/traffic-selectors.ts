/**
 * Traffic Selector payload body (RFC 7296 §3.13):
 *
 *   TS body  = NumberOfTSs(1) RESERVED(3) Selector{NumberOfTSs}
 *   Selector = TSType(1) IPProtocolID(1) SelectorLength(2) StartPort(2) EndPort(2) StartAddr EndAddr
 *
 * Only TS_IPV4_ADDR_RANGE (16-byte selector) and TS_IPV6_ADDR_RANGE (40-byte selector) exist in
 * RFC 7296 §3.13.1; other types are rejected because their layout is unknown. Ranges must not be
 * inverted, except the OPAQUE port form (start 65535, end 0) that §3.13.1 defines.
 */
import { Reader, Writer } from '../../../wire/buffer.js';
import { TS_ADDRESS_LENGTH, TS_SELECTOR_LENGTH, TsType } from './constants.js';
import { IkeWireErrorCode as E, wireError } from './errors.js';

export interface TrafficSelector {
  readonly tsType: TsType;
  /** IP protocol number; 0 = any (RFC 7296 §3.13.1). */
  readonly ipProtocol: number;
  readonly startPort: number;
  readonly endPort: number;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly startAddress: Buffer;
  readonly endAddress: Buffer;
}

/** Start Port 65535 with End Port 0 means OPAQUE ports (RFC 7296 §3.13.1). */
export const OPAQUE_PORTS = { startPort: 65535, endPort: 0 } as const;

function isTsType(value: number): value is TsType {
  return value === TsType.TS_IPV4_ADDR_RANGE || value === TsType.TS_IPV6_ADDR_RANGE;
}

function isOpaquePortRange(startPort: number, endPort: number): boolean {
  return startPort === OPAQUE_PORTS.startPort && endPort === OPAQUE_PORTS.endPort;
}

/** Throws BAD_TS_RANGE if a selector's port or address range is inverted. */
export function validateTrafficSelector(ts: TrafficSelector, offset?: number): void {
  const addressLength = TS_ADDRESS_LENGTH[ts.tsType];
  if (ts.startAddress.length !== addressLength || ts.endAddress.length !== addressLength) {
    throw wireError(E.BAD_LENGTH, `TS type ${ts.tsType} needs ${addressLength}-byte addresses`, offset);
  }
  if (ts.startPort > ts.endPort && !isOpaquePortRange(ts.startPort, ts.endPort)) {
    throw wireError(E.BAD_TS_RANGE, `TS port range ${ts.startPort} > ${ts.endPort}`, offset);
  }
  if (Buffer.compare(ts.startAddress, ts.endAddress) > 0) {
    throw wireError(E.BAD_TS_RANGE, 'TS starting address above ending address', offset);
  }
}

function decodeSelector(r: Reader): TrafficSelector {
  const start = r.absoluteOffset;
  const tsType = r.u8('ts type');
  const ipProtocol = r.u8('ip protocol');
  const length = r.u16('selector length');
  if (!isTsType(tsType)) throw wireError(E.BAD_TS_TYPE, `TS type ${tsType}`, start);
  if (length !== TS_SELECTOR_LENGTH[tsType]) {
    const want = TS_SELECTOR_LENGTH[tsType];
    throw wireError(E.BAD_LENGTH, `TS type ${tsType} selector length ${length} (want ${want})`, start);
  }
  const body = r.sub(length - 4, 'traffic selector');
  const startPort = body.u16('start port');
  const endPort = body.u16('end port');
  const addressLength = TS_ADDRESS_LENGTH[tsType];
  const startAddress = body.bytes(addressLength, 'starting address');
  const endAddress = body.bytes(addressLength, 'ending address');
  const ts: TrafficSelector = { tsType, ipProtocol, startPort, endPort, startAddress, endAddress };
  validateTrafficSelector(ts, start);
  return ts;
}

export function decodeTsBody(r: Reader): TrafficSelector[] {
  const start = r.absoluteOffset;
  const count = r.u8('number of TSs');
  r.skip(3);
  if (count === 0) throw wireError(E.EMPTY_DATA, 'TS payload with zero selectors', start);
  const selectors: TrafficSelector[] = [];
  for (let i = 0; i < count; i++) selectors.push(decodeSelector(r));
  r.expectEnd('TS payload (bytes after the last selector)');
  return selectors;
}

export function encodeTsBody(w: Writer, selectors: readonly TrafficSelector[]): void {
  if (selectors.length === 0 || selectors.length > 255) {
    throw wireError(E.BAD_VALUE, `TS payload with ${selectors.length} selectors`);
  }
  w.u8(selectors.length).zeros(3);
  for (const ts of selectors) {
    if (!isTsType(ts.tsType)) throw wireError(E.BAD_TS_TYPE, `TS type ${ts.tsType}`);
    validateTrafficSelector(ts);
    w.u8(ts.tsType).u8(ts.ipProtocol).u16(TS_SELECTOR_LENGTH[ts.tsType]);
    w.u16(ts.startPort).u16(ts.endPort).bytes(ts.startAddress).bytes(ts.endAddress);
  }
}
