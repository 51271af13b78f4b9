/**
 * cgwd runs one route-based CHILD SA per tunnel: TSi = TSr = 0.0.0.0/0, all ports, all
 * protocols (AWS Site-to-Site VPN User Guide: route-based, one SA pair per tunnel; the Local
 * and Remote IPv4 Network CIDR tunnel options default to 0.0.0.0/0). A responder accepts a request only if
 * each side's selectors include the whole IPv4 space (and answers with exactly that), else
 * TS_UNACCEPTABLE (RFC 7296 §2.9); an initiator accepts only an unnarrowed answer.
 */
import { TsType } from '../wire/constants.js';
import type { TsPayload } from '../wire/payloads.js';
import type { TrafficSelector } from '../wire/traffic-selectors.js';

export const ALL_IPV4: TrafficSelector = {
  tsType: TsType.TS_IPV4_ADDR_RANGE,
  ipProtocol: 0,
  startPort: 0,
  endPort: 65535,
  startAddress: Buffer.from([0, 0, 0, 0]),
  endAddress: Buffer.from([255, 255, 255, 255]),
};

export function allTrafficPayloads(): [TsPayload, TsPayload] {
  return [
    { kind: 'TSi', selectors: [ALL_IPV4] },
    { kind: 'TSr', selectors: [ALL_IPV4] },
  ];
}

function isAllIpv4(ts: TrafficSelector): boolean {
  return (
    ts.tsType === ALL_IPV4.tsType &&
    ts.ipProtocol === 0 &&
    ts.startPort === 0 &&
    ts.endPort === 65535 &&
    ts.startAddress.equals(ALL_IPV4.startAddress) &&
    ts.endAddress.equals(ALL_IPV4.endAddress)
  );
}

/** Responder: the offer includes 0.0.0.0/0 (any port, any protocol) on both sides. */
export function offerCoversAll(tsi: TsPayload | undefined, tsr: TsPayload | undefined): boolean {
  return !!tsi && !!tsr && tsi.selectors.some(isAllIpv4) && tsr.selectors.some(isAllIpv4);
}

/** Initiator: the answer is exactly 0.0.0.0/0 on both sides (not narrowed). */
export function answerIsAll(tsi: TsPayload | undefined, tsr: TsPayload | undefined): boolean {
  return !!tsi && !!tsr && tsi.selectors.length === 1 && tsr.selectors.length === 1 && tsi.selectors.every(isAllIpv4) && tsr.selectors.every(isAllIpv4);
}
