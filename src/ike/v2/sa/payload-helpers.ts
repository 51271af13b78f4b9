/** Small lookups over decoded payload lists, typed by payload kind. */
import { ProtocolId, isErrorNotify } from '../wire/constants.js';
import type { IkeHeader } from '../wire/header.js';
import type { NotifyPayload, Payload } from '../wire/payloads.js';
import type { Endpoint } from '../../runtime.js';

/** A received message after decryption and payload-rule checks. */
export interface InboundMessage {
  readonly header: IkeHeader;
  /** The inner payloads of SK, or the plain payloads of IKE_SA_INIT. */
  readonly payloads: readonly Payload[];
  /** The message as received (without the non-ESP marker): RealMessage for IKE_SA_INIT AUTH. */
  readonly datagram: Buffer;
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

type KindOf<K extends Payload['kind']> = Extract<Payload, { kind: K }>;

export function firstOf<K extends Payload['kind']>(payloads: readonly Payload[], kind: K): KindOf<K> | undefined {
  return payloads.find((p): p is KindOf<K> => p.kind === kind);
}

export function allOf<K extends Payload['kind']>(payloads: readonly Payload[], kind: K): KindOf<K>[] {
  return payloads.filter((p): p is KindOf<K> => p.kind === kind);
}

export function findNotify(payloads: readonly Payload[], notifyType: number): NotifyPayload | undefined {
  return payloads.find((p): p is NotifyPayload => p.kind === 'N' && p.notifyType === notifyType);
}

/** The first error notify (type < 16384, RFC 7296 §3.10.1), which decides a failed exchange. */
export function firstErrorNotify(payloads: readonly Payload[]): NotifyPayload | undefined {
  return payloads.find((p): p is NotifyPayload => p.kind === 'N' && isErrorNotify(p.notifyType));
}

export function notify(notifyType: number, data: Buffer = Buffer.alloc(0), spi?: { protocolId: number; spi: Buffer }): NotifyPayload {
  return {
    kind: 'N',
    protocolId: spi ? spi.protocolId : ProtocolId.NONE,
    spi: spi ? spi.spi : Buffer.alloc(0),
    notifyType,
    data,
  };
}

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

export function spiHex(spi: Buffer | number): string {
  if (typeof spi === 'number') return spi.toString(16).padStart(8, '0');
  return spi.toString('hex');
}
