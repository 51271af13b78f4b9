/**
 * Tasks in the manner of strongSwan's libcharon (sa/task.h): a task is one elementary
 * operation on an IKE SA, carried by one exchange, with two halves per role:
 *
 *   initiator  build() → request payloads      process(response) → TaskResult
 *   responder  process(request)                build() → response payloads
 *
 * The IKE SA owns the message machinery (message IDs, encryption, retransmission, the
 * responder's cache) and runs at most one initiator task at a time (window size 1,
 * RFC 7296 §2.3); tasks only decide what goes into messages and what a message means.
 */
import type { Payload } from '../wire/payloads.js';
import type { ExchangeType } from '../wire/constants.js';
import type { IkeError } from '../../errors.js';
import type { IkeSa } from '../sa/ike-sa.js';
import type { InboundMessage } from '../sa/payload-helpers.js';

export type TaskName =
  | 'IKE_INIT'
  | 'IKE_AUTH'
  | 'CHILD_CREATE'
  | 'CHILD_REKEY'
  | 'CHILD_DELETE'
  | 'IKE_REKEY'
  | 'IKE_DELETE'
  | 'IKE_DPD'
  | 'INFORMATIONAL';

export type TaskResult =
  /** The exchange did its job (or failed harmlessly and has nothing left to do). */
  | { readonly status: 'done' }
  /** Build and send again at once (after COOKIE or INVALID_KE_PAYLOAD). */
  | { readonly status: 'retry' }
  /** Run the whole task again later (after TEMPORARY_FAILURE, RFC 7296 §2.25). */
  | { readonly status: 'requeue'; readonly afterMs: number }
  /** The exchange failed; `fatal` ends the IKE SA. */
  | { readonly status: 'failed'; readonly error: IkeError; readonly fatal: boolean };

export const DONE: TaskResult = { status: 'done' };
export const RETRY: TaskResult = { status: 'retry' };

export interface InitiatorTask {
  readonly name: TaskName;
  readonly exchange: ExchangeType;
  /** Checked before the task is sent: true drops it unsent (its SA went away meanwhile). */
  isObsolete?(): boolean;
  build(): Payload[];
  process(response: InboundMessage): TaskResult;
  /** The request was never answered, or the IKE SA died first. */
  abandon?(error: IkeError): void;
  /**
   * The same task for another IKE SA, when the CHILD SAs move there in an IKE SA rekey before
   * this queued task was sent (keys come from the new SA's SK_d); undefined drops it.
   */
  rebind?(sa: IkeSa): InitiatorTask | undefined;
  /** Timeouts for each transmission (default: the exponential schedule of timing.ts). */
  readonly retransmitTimeoutsMs?: readonly number[];
}

export interface ResponderTask {
  readonly name: TaskName;
  process(request: InboundMessage): void;
  build(): Payload[];
  /** Runs after the response was sent (e.g. the SA is destroyed after answering its Delete). */
  afterResponse?(): void;
}
