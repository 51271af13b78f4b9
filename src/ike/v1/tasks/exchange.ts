/**
 * Exchanges as small tasks with explicit state (in the manner of strongSwan's libcharon tasks,
 * sa/task.h): one object per Main Mode or Quick Mode exchange, owned by its ISAKMP SA and
 * found by Message ID (Main Mode is ID 0).
 *
 * IKEv1 has no request/response windows (RFC 2408 §4): every message of an exchange may be
 * retransmitted, so each exchange remembers the last message it accepted and the message it
 * sent answering it. A datagram identical to the accepted one is a retransmission: the answer
 * is sent again, nothing is processed twice (and the IV chain is untouched).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Endpoint } from '../../runtime.js';
import type { IsakmpHeader } from '../wire/header.js';
import type { ChainEntry } from '../wire/payloads.js';

/** A message of an exchange, decrypted and decoded, not yet authenticated. */
export interface Received {
  readonly header: IsakmpHeader;
  readonly entries: readonly ChainEntry[];
  readonly data: Buffer;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly encrypted: boolean;
  /** Commits the exchange's IV chain; call only once the message authenticated. */
  readonly commit: () => void;
}

export interface Exchange {
  readonly name: 'MAIN_MODE' | 'QUICK_MODE';
  /** Whether we started the exchange or answer the peer's. */
  readonly role: 'initiator' | 'responder';
  readonly messageId: number;
  /** The exchange ended (successfully or not); it lingers only to answer retransmissions. */
  readonly finished: boolean;
  isDuplicate(data: Buffer): boolean;
  /** Sends the answer to the last accepted message again; false when there is none. */
  resendAnswer(): boolean;
  receive(message: Received): void;
  /** A message for this exchange that could not be decrypted or decoded. */
  undecodable?(error: unknown): void;
  /** Main Mode only: an unprotected Informational with notifies (a refusal before keys exist). */
  plainNotify?(entries: readonly ChainEntry[]): void;
  /** The SA is going away: timers stop, nothing more is sent. */
  abort(): void;
}

/** Duplicate bookkeeping shared by every exchange. */
export abstract class ExchangeMemory {
  #lastReceived: Buffer | undefined;
  #answer: Buffer | undefined;
  readonly #transmit: (bytes: Buffer) => void;

  /** `transmit` puts a stored answer on the wire again (the exchange's ISAKMP SA). */
  constructor(transmit: (bytes: Buffer) => void) {
    this.#transmit = transmit;
  }

  isDuplicate(data: Buffer): boolean {
    return this.#lastReceived !== undefined && this.#lastReceived.equals(data);
  }

  protected accepted(data: Buffer): void {
    this.#lastReceived = Buffer.from(data);
    this.#answer = undefined;
  }

  protected answered(bytes: Buffer): void {
    this.#answer = bytes;
  }

  /** Sends the answer to the last accepted message again; false when there is none. */
  resendAnswer(): boolean {
    const answer = this.#answer;
    if (!answer) return false;
    this.#transmit(answer);
    return true;
  }
}

export function firstOf<K extends ChainEntry['payload']['kind']>(entries: readonly ChainEntry[], kind: K): Extract<ChainEntry['payload'], { kind: K }> | undefined {
  const found = entries.find((e) => e.payload.kind === kind);
  return found?.payload as Extract<ChainEntry['payload'], { kind: K }> | undefined;
}

export function entriesOf<K extends ChainEntry['payload']['kind']>(entries: readonly ChainEntry[], kind: K): ChainEntry[] {
  return entries.filter((e) => e.payload.kind === kind);
}

export function allOf<K extends ChainEntry['payload']['kind']>(entries: readonly ChainEntry[], kind: K): Extract<ChainEntry['payload'], { kind: K }>[] {
  return entries.filter((e) => e.payload.kind === kind).map((e) => e.payload as Extract<ChainEntry['payload'], { kind: K }>);
}

/** A finished exchange stays this long to answer retransmissions of its last message. */
export const FINISHED_EXCHANGE_LINGER_MS = 60_000;

/** Constant-time comparison of a received HASH with the expected one. */
export function equalHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
