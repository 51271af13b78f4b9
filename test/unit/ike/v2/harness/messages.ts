/** Looking at what went over the fake wire (headers and plain IKE_SA_INIT payloads only). */
import { decodeMessage } from '../../../../../src/ike/v2/wire/message.js';
import type { NotifyPayload } from '../../../../../src/ike/v2/wire/payloads.js';
import type { FakeTransport, Wire } from '../../harness/network.js';

export interface SentMessage {
  readonly datagram: Wire;
  readonly exchange: number;
  readonly response: boolean;
  readonly messageId: number;
  /** Notify types of an unencrypted message (IKE_SA_INIT). */
  readonly notifies: readonly number[];
}

export function describeSent(datagram: Wire): SentMessage {
  const decoded = decodeMessage(datagram.data);
  return {
    datagram,
    exchange: decoded.header.exchangeType,
    response: decoded.header.flags.response,
    messageId: decoded.header.messageId,
    notifies: decoded.payloads.filter((p): p is NotifyPayload => p.kind === 'N').map((n) => n.notifyType),
  };
}

export function sentBy(transport: FakeTransport, filter: { exchange?: number; response?: boolean } = {}): SentMessage[] {
  return transport.sent
    .map(describeSent)
    .filter((m) => (filter.exchange === undefined || m.exchange === filter.exchange) && (filter.response === undefined || m.response === filter.response));
}
