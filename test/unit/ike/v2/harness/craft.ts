/**
 * Forging messages "from" one side of an established pair, with that side's real keys taken
 * from its keylog: how the hostile-input tests put authenticated but malicious requests in
 * front of the other side, and read its encrypted answers.
 */
import { ExchangeType } from '../../../../../src/ike/wire/constants.js';
import { decodeMessage, encodeMessage, type IkeHeaderFields } from '../../../../../src/ike/wire/message.js';
import type { Payload } from '../../../../../src/ike/wire/payloads.js';
import type { Endpoint, IkeDatagram } from '../../../../../src/ike/runtime.js';
import type { KeylogEntry } from '../../../../../src/ike/v2/index.js';
import { SkProtection } from '../../../../../src/ike/v2/crypto/protection.js';
import type { Pair, Peer } from './pair.js';
import { SeededRandom } from './seeded-random.js';

export interface Forger {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly originalInitiator: boolean;
  /** An encrypted message from `peer` with its keys. */
  seal(exchange: number, messageId: number, payloads: readonly Payload[], options?: { response?: boolean }): Buffer;
  /** Decrypts a message sent to `peer` (an answer from the other side). */
  open(datagram: Buffer): Payload[];
  /** The other side's next expected request ID for this IKE SA. */
  readonly receiverExpects: number;
}

function ikeEntry(peer: Peer): Extract<KeylogEntry, { kind: 'ike' }> {
  const sa = peer.connection.status().ikeSas.find((s) => s.current) ?? peer.connection.status().ikeSas[0];
  const entry = [...peer.keylog].reverse().find((e): e is Extract<KeylogEntry, { kind: 'ike' }> => e.kind === 'ike' && (!sa || (e.spiI === sa.spiI && e.spiR === sa.spiR)));
  if (!entry) throw new Error(`${peer.name} has no IKE keys`);
  return entry;
}

export function forgerFor(pair: Pair, from: 'cgw' | 'aws'): Forger {
  const sender = pair[from];
  const receiver = from === 'cgw' ? pair.aws : pair.cgw;
  const entry = ikeEntry(sender);
  const spiI = Buffer.from(entry.spiI, 'hex');
  const spiR = Buffer.from(entry.spiR, 'hex');
  const protection = new SkProtection(entry.suite, entry.keys, entry.originalInitiator, new SeededRandom(99));
  return {
    spiI,
    spiR,
    originalInitiator: entry.originalInitiator,
    seal(exchange, messageId, payloads, options = {}) {
      const header: IkeHeaderFields = {
        spiI,
        spiR,
        exchangeType: exchange,
        flags: { initiator: entry.originalInitiator, response: options.response ?? false, version: false },
        messageId,
      };
      return protection.protect(header, payloads);
    },
    open(datagram) {
      return protection.unprotect(datagram, decodeMessage(datagram));
    },
    get receiverExpects() {
      const sa = receiver.connection.status().ikeSas.find((s) => s.spiI === entry.spiI);
      return sa?.expectedRequestId ?? -1;
    },
  };
}

/** A plain (unencrypted) message, e.g. a crafted IKE_SA_INIT request. */
export function plain(header: Partial<IkeHeaderFields> & { spiI: Buffer }, payloads: readonly Payload[]): Buffer {
  return encodeMessage({
    header: {
      spiR: Buffer.alloc(8),
      exchangeType: ExchangeType.IKE_SA_INIT,
      flags: { initiator: true, response: false, version: false },
      messageId: 0,
      ...header,
    },
    payloads,
  });
}

/** Hands a datagram straight to `peer`'s connection as if it came from the other side. */
export function inject(pair: Pair, to: 'cgw' | 'aws', data: Buffer, port = 4500): void {
  const peer = pair[to];
  const other = to === 'cgw' ? pair.aws : pair.cgw;
  const local: Endpoint = { address: peer.address, port };
  const remote: Endpoint = { address: other.address, port };
  const datagram: IkeDatagram = { local, remote, data };
  peer.connection.handleDatagram(datagram);
}
