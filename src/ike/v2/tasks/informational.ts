/**
 * INFORMATIONAL exchanges (RFC 7296 §1.4, §2.4): liveness checks and the responder side of
 * Deletes and notifications.
 *
 *   liveness   HDR, SK { }            →  HDR, SK { }
 *   delete     HDR, SK { D(ESP, …) }  →  HDR, SK { D(ESP, ours…) }   (§1.4.1: answer with the
 *                                         inbound SPIs of the pairs we closed; without a D for an
 *                                         SA we were deleting ourselves, §2.25.1)
 *   delete IKE HDR, SK { D(IKE) }     →  HDR, SK { }, then the IKE SA is gone
 *
 * Deletes name SPIs the sender receives on, i.e. our outbound SPIs. A Delete of an unknown SPI
 * (already gone, or never ours) is ignored, and so are notifications about SAs deleted earlier
 * in the same message (GHSA-65xr-g9j5-jv8g): nothing looks an SA up twice.
 */
import { ExchangeType, NotifyType, ProtocolId, notifyTypeName } from '../wire/constants.js';
import type { Payload } from '../wire/payloads.js';
import { AuthenticationFailedError, PeerDeletedError } from '../../errors.js';
import type { ChildSa } from '../sa/child-sa.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { allOf, findNotify, firstErrorNotify, type InboundMessage } from '../sa/payload-helpers.js';
import { dpdTimeouts } from '../timing.js';
import { ChildCreateInitiator } from './child-create.js';
import { deletePayloadFor } from './child-delete.js';
import { IkeRekeyInitiator } from './ike-rekey.js';
import { DONE, type InitiatorTask, type ResponderTask, type TaskResult } from './task.js';

/** An empty INFORMATIONAL request: any authenticated answer proves the peer alive (§2.4). */
export class DpdInitiator implements InitiatorTask {
  readonly name = 'IKE_DPD' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly retransmitTimeoutsMs: readonly number[];

  constructor(sa: IkeSa) {
    this.retransmitTimeoutsMs = dpdTimeouts(sa.ctx.timing);
  }

  build(): Payload[] {
    return [];
  }

  process(): TaskResult {
    return DONE;
  }
}

export class InformationalResponder implements ResponderTask {
  readonly name = 'INFORMATIONAL' as const;
  readonly #sa: IkeSa;
  #answer: Payload[] = [];
  #after: (() => void) | undefined;

  constructor(sa: IkeSa) {
    this.#sa = sa;
  }

  process(request: InboundMessage): void {
    const sa = this.#sa;
    const deletes = allOf(request.payloads, 'D');
    if (deletes.some((d) => d.protocolId === ProtocolId.IKE)) {
      this.#after = () => this.#ikeDeleted();
      return;
    }
    const closed: ChildSa[] = [];
    const retire: ChildSa[] = [];
    for (const payload of deletes) {
      if (payload.protocolId !== ProtocolId.ESP) continue;
      for (const spiBytes of payload.spis) {
        const spi = spiBytes.readUInt32BE(0);
        const holders = sa.collisionCandidateOf ? [sa, sa.collisionCandidateOf] : [sa];
        const child = holders.flatMap((h) => h.children).find((c) => c.spiOut === spi && c.state !== 'deleted');
        if (!child) {
          const creating = sa.activeTask;
          if (creating instanceof ChildCreateInitiator) creating.noteUnknownDelete(spi);
          continue;
        }
        if (retire.includes(child)) continue;
        retire.push(child);
        if (child.state !== 'deleting') closed.push(child); // §2.25.1: no D for an SA we were closing
      }
    }
    if (closed.length > 0) this.#answer = [deletePayloadFor(closed)];
    const failure = firstErrorNotify(request.payloads);
    this.#after = () => {
      for (const child of retire) {
        const others = [sa, ...(sa.collisionCandidateOf ? [sa.collisionCandidateOf] : [])].some((h) => h.children.some((c) => c !== child && c.isLive));
        const graceMs = others ? sa.ctx.timing.rekeyedInboundGraceMs : 0;
        if (child.state !== 'deleted') sa.host.childRetired(sa, child, 'deleted by the peer', { graceMs });
      }
      if (failure) this.#peerError(failure.notifyType);
    };
    if (deletes.length === 0 && !failure && findNotify(request.payloads, NotifyType.INITIAL_CONTACT)) {
      sa.log.debug('INITIAL_CONTACT outside IKE_AUTH ignored');
    }
  }

  build(): Payload[] {
    return this.#answer;
  }

  afterResponse(): void {
    this.#after?.();
  }

  #peerError(notifyType: number): void {
    const sa = this.#sa;
    if (notifyType === NotifyType.AUTHENTICATION_FAILED) {
      // The initiator could not verify our AUTH (§2.21.2): the SA it refers to is unusable.
      sa.die(new AuthenticationFailedError('the peer rejected our AUTH'));
      return;
    }
    sa.log.info({ error: `IKE_PEER_${notifyTypeName(notifyType)}` }, 'peer reported an error');
  }

  /** §1.4.1 / §2.25.2: answer, then the SA is gone (our own rekey or delete of it is forgotten). */
  #ikeDeleted(): void {
    const sa = this.#sa;
    const rekey = sa.activeTask instanceof IkeRekeyInitiator ? sa.activeTask : undefined;
    const winner = rekey?.collision;
    if (rekey && winner?.isAlive && !sa.successor) {
      // The peer won a rekey collision and closed the old SA before our answer arrived: its
      // new SA takes the CHILD SAs; the old one lingers only to receive that answer.
      rekey.oldSaDeletedByPeer();
      sa.host.ikeSaRekeyed(sa, winner, { weInitiated: false });
      return;
    }
    sa.die(new PeerDeletedError('IKE SA'));
  }
}
