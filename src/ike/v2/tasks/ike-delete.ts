/**
 * Deleting an IKE SA (RFC 7296 §1.4.1): HDR, SK { D(IKE) } → HDR, SK { }. The SA (and, when it
 * is the connection's current one, its CHILD SAs) ends when the answer arrives or the request
 * goes unanswered.
 */
import { ExchangeType, ProtocolId } from '../wire/constants.js';
import type { Payload } from '../wire/payloads.js';
import { LocalCloseError } from '../../errors.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { DONE, type InitiatorTask, type TaskResult } from './task.js';

export class IkeDeleteInitiator implements InitiatorTask {
  readonly name = 'IKE_DELETE' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly #sa: IkeSa;
  readonly #reason: string;
  readonly retransmitTimeoutsMs: readonly number[] | undefined;

  constructor(sa: IkeSa, reason: string, options: { readonly retransmitTimeoutsMs?: readonly number[] } = {}) {
    this.#sa = sa;
    this.#reason = reason;
    this.retransmitTimeoutsMs = options.retransmitTimeoutsMs;
  }

  build(): Payload[] {
    if (this.#sa.state === 'established' || this.#sa.state === 'rekeyed') this.#sa.state = 'deleting';
    return [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }];
  }

  process(): TaskResult {
    this.#sa.die(new LocalCloseError(this.#reason));
    return DONE;
  }
}
