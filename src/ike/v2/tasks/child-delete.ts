/**
 * Deleting a CHILD SA (RFC 7296 §1.4.1):
 *
 *   HDR, SK { D(ESP, our inbound SPI) }  -->
 *                                        <--  HDR, SK { D(ESP, its inbound SPI) }   (or empty,
 *                                             when the peer was deleting it too, §2.25.1)
 *
 * The SA leaves the IKE SA when the answer arrives; its inbound half stays installed for
 * `graceMs` (make-before-break after a rekey) and is then removed from the data plane.
 */
import { ExchangeType, ProtocolId } from '../wire/constants.js';
import type { Payload } from '../wire/payloads.js';
import type { ChildSa } from '../sa/child-sa.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { DONE, type InitiatorTask, type TaskResult } from './task.js';

export function deletePayloadFor(children: readonly ChildSa[]): Payload {
  return {
    kind: 'D',
    protocolId: ProtocolId.ESP,
    spis: children.map((child) => {
      const spi = Buffer.alloc(4);
      spi.writeUInt32BE(child.spiIn);
      return spi;
    }),
  };
}

export class ChildDeleteInitiator implements InitiatorTask {
  readonly name = 'CHILD_DELETE' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly #sa: IkeSa;
  readonly child: ChildSa;
  readonly #reason: string;
  readonly #graceMs: number;

  constructor(sa: IkeSa, child: ChildSa, reason: string, options: { readonly graceMs: number }) {
    this.#sa = sa;
    this.child = child;
    this.#reason = reason;
    this.#graceMs = options.graceMs;
  }

  rebind(sa: IkeSa): InitiatorTask {
    return new ChildDeleteInitiator(sa, this.child, this.#reason, { graceMs: this.#graceMs });
  }

  /** Gone already (the peer deleted it first): nothing to send. */
  isObsolete(): boolean {
    return this.child.state === 'deleted';
  }

  build(): Payload[] {
    this.child.state = 'deleting';
    return [deletePayloadFor([this.child])];
  }

  process(): TaskResult {
    this.#retire();
    return DONE;
  }

  abandon(): void {
    // The IKE SA died: the connection removes every CHILD SA it carried.
  }

  #retire(): void {
    if (this.child.state === 'deleted') return;
    this.#sa.host.childRetired(this.#sa, this.child, this.#reason, { graceMs: this.#graceMs });
  }
}
