/**
 * CREATE_CHILD_SA for ESP: creating a CHILD SA and rekeying one (RFC 7296 §1.3.1, §1.3.3,
 * §2.8, §2.17), with the collision rules of §2.8.1 and §2.25.1.
 *
 *   Initiator                                          Responder
 *   HDR, SK { [N(REKEY_SA, old SPI)], SA, Ni, [KEi,] TSi, TSr } -->
 *                                                  <--  HDR, SK { SA, Nr, [KEr,] TSi, TSr }
 *
 * KE is sent whenever a PFS group is configured: an ESP proposal that names a DH group without
 * a KE payload is refused with NO_PROPOSAL_CHOSEN (RFC 7296 §1.3.1: the KE belongs to the
 * proposal's group), and the tunnel would die at its first rekey. KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr), "i" being this exchange's initiator.
 *
 * A successful rekey, as the initiator (make-before-break):
 *   new SA handed to the data plane → INFORMATIONAL Delete of the old SA → the old inbound SA
 *   stays installed for the grace period, then is removed.
 * As the responder: the new SA is handed to the data plane when the answer leaves; the old one
 * waits for the initiator's Delete (or its own hard lifetime).
 *
 * Collisions (both sides rekey the same SA, §2.8.1): each side answers the other's request as
 * usual and records the SA it created as responder on its own in-flight rekey task. When its own
 * answer arrives it knows all four nonces. The SA created with the lowest nonce is redundant:
 * its initiator deletes it (and, here, never installs it, so outbound traffic stays on the
 * survivor); the initiator of the surviving SA deletes the old one. Other collisions (§2.25.1):
 *   rekey request for an SA we are deleting          → TEMPORARY_FAILURE
 *   rekey request for an SA we do not know (any more) → CHILD_SA_NOT_FOUND, but
 *     TEMPORARY_FAILURE while our own CREATE_CHILD_SA is out (it may name the SA whose answer
 *     has not reached us yet)
 *   rekey request while we rekey or delete the IKE SA, or on a new IKE SA whose own rekey
 *     collision is unresolved                         → TEMPORARY_FAILURE (§2.25.2)
 * and for our own request: TEMPORARY_FAILURE → try again after a random delay (not at once,
 * §2.25), unless the peer's colliding rekey we answered already replaced the SA;
 * CHILD_SA_NOT_FOUND → forget the old SA (a new one is created if none is left). A Delete
 * naming an SPI we do not know while our request is out is remembered: if the answer then
 * names that SPI, the new SA was deleted before we heard of it and never comes to life here
 * (the case strongSwan's test_child_rekey.c leaves open).
 */
import { wipe } from '../../../crypto/bytes.js';
import { DhKeyPair } from '../../../crypto/dh.js';
import { DhInvalidPublicError } from '../../../crypto/errors.js';
import type { DhGroupNumber } from '../../../crypto/transforms.js';
import { ExchangeType, NotifyType, ProtocolId, notifyTypeName } from '../wire/constants.js';
import type { Payload } from '../wire/payloads.js';
import type { Proposal } from '../wire/sa.js';
import { deriveChildKeys } from '../crypto/keys.js';
import { NONCE_LENGTH, ourExchangeLoses } from '../crypto/nonce.js';
import { InvalidResponseError, NoProposalChosenError, PeerErrorNotifyError, type IkeError } from '../../errors.js';
import { answerProposal, buildChildProposals, offeredDhGroups, selectChildProposal, verifyChildAnswer } from '../proposals/proposals.js';
import { ChildSa } from '../sa/child-sa.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { findNotify, firstErrorNotify, firstOf, notify, u16, type InboundMessage } from '../sa/payload-helpers.js';
import { allTrafficPayloads, answerIsAll, offerCoversAll } from '../sa/traffic-selectors.js';
import { newChildSpi } from './child-spi.js';
import { ChildDeleteInitiator } from './child-delete.js';
import { respondToIkeRekey } from './ike-rekey.js';
import { temporaryFailureDelayMs } from '../timing.js';
import { DONE, RETRY, type InitiatorTask, type ResponderTask, type TaskResult } from './task.js';

const MAX_INVALID_KE_ROUNDS = 3;

function spiBytes(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function prfOf(sa: IkeSa): NonNullable<IkeSa['suite']>['prf'] {
  const suite = sa.suite;
  if (!suite) throw new InvalidResponseError('CREATE_CHILD_SA', 'IKE SA without keys');
  return suite.prf;
}

function skDOf(sa: IkeSa): Buffer {
  const keys = sa.keys;
  if (!keys) throw new InvalidResponseError('CREATE_CHILD_SA', 'IKE SA without keys');
  return keys.skD;
}

export class ChildCreateInitiator implements InitiatorTask {
  readonly name: 'CHILD_CREATE' | 'CHILD_REKEY';
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  /** The SA this exchange rekeys; undefined when it creates a new one. */
  readonly rekeyed: ChildSa | undefined;
  readonly #sa: IkeSa;
  #spiIn: Buffer | undefined;
  #nonce: Buffer = Buffer.alloc(0);
  #group: DhGroupNumber | undefined;
  #dh: DhKeyPair | undefined;
  #proposals: Proposal[] = [];
  #started = false;
  #invalidKeRounds = 0;
  /** The SA the peer created with its own colliding rekey of the same SA (we answered it). */
  #collision: ChildSa | undefined;
  /** SPIs the peer deleted while this request was out, before we knew them (see process()). */
  readonly #deletedUnknown = new Set<number>();

  constructor(sa: IkeSa, options: { readonly rekey?: ChildSa } = {}) {
    this.#sa = sa;
    this.rekeyed = options.rekey;
    this.name = options.rekey ? 'CHILD_REKEY' : 'CHILD_CREATE';
    this.#group = options.rekey?.suite.dhGroup ?? sa.ctx.policy.childKeGroup;
    if (this.#group !== undefined && !sa.ctx.policy.child.some((o) => o.dhGroups.includes(this.#group as DhGroupNumber))) {
      this.#group = sa.ctx.policy.childKeGroup;
    }
  }

  rebind(sa: IkeSa): InitiatorTask {
    return new ChildCreateInitiator(sa, this.rekeyed ? { rekey: this.rekeyed } : {});
  }

  /**
   * The peer deleted an SA we do not know yet while this request is out: perhaps the one this
   * exchange creates, deleted right after the peer answered, its answer still on the way
   * (the case strongSwan's test_child_rekey.c leaves as a FIXME).
   */
  noteUnknownDelete(spi: number): void {
    this.#deletedUnknown.add(spi);
  }

  /** The responder half saw the peer rekey the same SA while this request is out (§2.8.1). */
  recordCollision(peerChild: ChildSa): void {
    this.#collision = peerChild;
  }

  isObsolete(): boolean {
    const sa = this.#sa;
    const old = this.rekeyed;
    if (!old) return sa.children.some((c) => c.isLive);
    if (!sa.children.includes(old)) return true;
    return old.state !== (this.#started ? 'rekeying' : 'installed');
  }

  build(): Payload[] {
    const sa = this.#sa;
    const old = this.rekeyed;
    this.#started = true;
    this.#collision = undefined;
    this.#deletedUnknown.clear();
    if (old) old.state = 'rekeying';
    this.#spiIn ??= newChildSpi(sa);
    this.#nonce = sa.ctx.random.bytes(NONCE_LENGTH);
    const group = this.#group;
    this.#dh = group === undefined ? undefined : DhKeyPair.generate(group);
    this.#proposals = buildChildProposals(sa.ctx.policy.child, this.#spiIn, group);
    const payloads: Payload[] = [];
    if (old) payloads.push(notify(NotifyType.REKEY_SA, Buffer.alloc(0), { protocolId: ProtocolId.ESP, spi: spiBytes(old.spiIn) }));
    payloads.push({ kind: 'SA', proposals: this.#proposals }, { kind: 'Nonce', nonce: this.#nonce });
    if (this.#dh) payloads.push({ kind: 'KE', group: this.#dh.group, data: this.#dh.publicValue });
    payloads.push(...allTrafficPayloads());
    return payloads;
  }

  abandon(): void {
    this.#restoreOld();
  }

  /**
   * Our exchange did not produce an SA. Without a collision the old SA is simply ours again;
   * with one, the peer's colliding rekey (which we answered) replaced it and the peer will
   * delete it.
   */
  #restoreOld(): void {
    const old = this.rekeyed;
    if (old && old.state === 'rekeying') old.state = this.#collisionStands() ? 'rekeyed' : 'installed';
    this.#started = false;
  }

  #collisionStands(): boolean {
    const peerChild = this.#collision;
    return peerChild !== undefined && peerChild.state !== 'deleted' && this.#sa.children.includes(peerChild);
  }

  process(response: InboundMessage): TaskResult {
    const sa = this.#sa;
    const old = this.rekeyed;
    const error = firstErrorNotify(response.payloads);
    if (error) return this.#handleError(error.notifyType, response);

    const saPayload = firstOf(response.payloads, 'SA');
    const nonce = firstOf(response.payloads, 'Nonce');
    if (!saPayload || !nonce) return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', 'SA or Nonce missing'));
    const { suite, spi } = verifyChildAnswer(saPayload.proposals, this.#proposals, 'CREATE_CHILD_SA');
    let sharedSecret: Buffer | undefined;
    if (this.#dh) {
      const ke = firstOf(response.payloads, 'KE');
      if (!ke || ke.group !== this.#dh.group || suite.dhGroup !== this.#dh.group) {
        return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', 'KE missing or of another group'));
      }
      try {
        sharedSecret = this.#dh.computeSharedSecret(ke.data);
      } catch (e) {
        if (e instanceof DhInvalidPublicError) return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', e.message));
        throw e;
      }
    }
    if (this.#deletedUnknown.has(spi.readUInt32BE(0))) {
      // The peer deleted this SA before its answer reached us: it never comes to life here.
      sa.log.info('the new CHILD SA was deleted by the peer before its answer arrived');
      if (old && sa.children.includes(old) && old.state === 'rekeying') {
        old.state = 'deleting';
        sa.queueTask(new ChildDeleteInitiator(sa, old, 'rekeyed', { graceMs: sa.ctx.timing.rekeyedInboundGraceMs }), { front: true });
      }
      if (!sa.children.some((c) => c.isLive)) sa.host.childSaMissing(sa);
      return DONE;
    }
    const keys = deriveChildKeys(prfOf(sa), skDOf(sa), suite, this.#nonce, nonce.nonce, sharedSecret);
    wipe(sharedSecret); // the PFS g^ir is only an input to KEYMAT (§2.17)
    const child = new ChildSa({
      id: sa.host.allocateChildId(),
      spiIn: (this.#spiIn as Buffer).readUInt32BE(0),
      spiOut: spi.readUInt32BE(0),
      suite,
      keys,
      initiatedByUs: true,
      nonceI: this.#nonce,
      nonceR: nonce.nonce,
      createdAt: sa.ctx.clock.now(),
    });
    if (!answerIsAll(firstOf(response.payloads, 'TSi'), firstOf(response.payloads, 'TSr'))) {
      // The peer holds an SA we cannot use: delete it without installing it.
      this.#discard(child, 'traffic selectors narrowed');
      this.#restoreOld();
      if (old) sa.host.childRekeyLater(old, sa.ctx.timing.rekeyRetryMs);
      return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', 'the peer narrowed the traffic selectors'));
    }
    if (!old) {
      sa.host.childCreated(sa, child, { install: true });
      return DONE;
    }
    const peerChild = this.#collision;
    if (peerChild) sa.host.countCollision('child');
    if (peerChild && ourExchangeLoses([child.nonceI, child.nonceR], [peerChild.nonceI, peerChild.nonceR])) {
      // Ours holds the lowest nonce: redundant, we delete it; the peer deletes the old one.
      sa.log.info({ child: child.id, survivor: peerChild.id }, 'CHILD rekey collision lost: deleting our redundant SA');
      this.#discard(child, 'redundant after a rekey collision');
      if (old.state === 'rekeying') old.state = 'rekeyed';
      return DONE;
    }
    if (peerChild) sa.log.info({ child: child.id, redundant: peerChild.id }, 'CHILD rekey collision won');
    sa.host.childCreated(sa, child, { install: true, replaces: old });
    if (sa.children.includes(old) && old.state !== 'deleted') {
      old.state = 'deleting';
      sa.queueTask(new ChildDeleteInitiator(sa, old, 'rekeyed', { graceMs: sa.ctx.timing.rekeyedInboundGraceMs }), { front: true });
    }
    return DONE;
  }

  /** Records an SA the peer has but we will not use, and deletes it. */
  #discard(child: ChildSa, reason: string): void {
    const sa = this.#sa;
    sa.host.childCreated(sa, child, { install: false });
    child.state = 'deleting';
    sa.queueTask(new ChildDeleteInitiator(sa, child, reason, { graceMs: 0 }), { front: true });
  }

  #handleError(notifyType: number, response: InboundMessage): TaskResult {
    const sa = this.#sa;
    const old = this.rekeyed;
    switch (notifyType) {
      case NotifyType.TEMPORARY_FAILURE: {
        const replacedByPeer = this.#collisionStands();
        this.#restoreOld();
        return replacedByPeer ? DONE : { status: 'requeue', afterMs: temporaryFailureDelayMs(sa.ctx.timing, sa.ctx.random) };
      }
      case NotifyType.CHILD_SA_NOT_FOUND:
        this.#restoreOld();
        // §2.25: silently forget it; the connection creates a new one if none is left.
        if (old && sa.children.includes(old)) sa.host.childRetired(sa, old, 'peer does not know the SA', { graceMs: 0 });
        return DONE;
      case NotifyType.INVALID_KE_PAYLOAD: {
        const wanted = findNotify(response.payloads, NotifyType.INVALID_KE_PAYLOAD)?.data.readUInt16BE(0);
        const offered = offeredDhGroups(this.#proposals);
        if (wanted !== undefined && wanted !== this.#group && offered.includes(wanted as DhGroupNumber) && ++this.#invalidKeRounds <= MAX_INVALID_KE_ROUNDS) {
          this.#group = wanted as DhGroupNumber;
          return RETRY;
        }
        this.#restoreOld();
        if (old) sa.host.childRekeyLater(old, sa.ctx.timing.rekeyRetryMs);
        return this.#failed(new NoProposalChosenError(`peer wants PFS group ${wanted ?? '?'}, which we do not offer`));
      }
      default: {
        const replacedByPeer = this.#collisionStands();
        this.#restoreOld();
        if (old && !replacedByPeer) sa.host.childRekeyLater(old, sa.ctx.timing.rekeyRetryMs);
        return this.#failed(new PeerErrorNotifyError('CREATE_CHILD_SA', notifyType, notifyTypeName(notifyType)));
      }
    }
  }

  #failed(error: IkeError): TaskResult {
    this.#restoreOld();
    return { status: 'failed', error, fatal: false };
  }
}

/** Answers CREATE_CHILD_SA: a CHILD SA rekey or creation here, an IKE SA rekey in ike-rekey.ts. */
export class CreateChildResponder implements ResponderTask {
  readonly name = 'CHILD_CREATE' as const;
  readonly #sa: IkeSa;
  #answer: Payload[] = [];
  #after: (() => void) | undefined;

  constructor(sa: IkeSa) {
    this.#sa = sa;
  }

  process(request: InboundMessage): void {
    const proposals = firstOf(request.payloads, 'SA')?.proposals ?? [];
    if (proposals.some((p) => p.protocolId === ProtocolId.IKE)) {
      const outcome = respondToIkeRekey(this.#sa, request);
      this.#answer = outcome.answer;
      this.#after = outcome.after;
      return;
    }
    this.#answer = this.#child(request);
  }

  build(): Payload[] {
    return this.#answer;
  }

  afterResponse(): void {
    this.#after?.();
  }

  #child(request: InboundMessage): Payload[] {
    const sa = this.#sa;
    const active = sa.activeTask;
    // Not while the IKE SA itself is being rekeyed or closed, nor on a new IKE SA whose rekey
    // collision is not resolved yet (its CHILD SAs still sit on the old one).
    if (sa.state !== 'established' || sa.collisionCandidateOf || active?.name === 'IKE_REKEY' || active?.name === 'IKE_DELETE') {
      return [notify(NotifyType.TEMPORARY_FAILURE)];
    }
    const rekeyNotify = findNotify(request.payloads, NotifyType.REKEY_SA);
    let old: ChildSa | undefined;
    let collidingTask: ChildCreateInitiator | undefined;
    if (rekeyNotify) {
      const spi = rekeyNotify.spi.length === 4 ? rekeyNotify.spi.readUInt32BE(0) : -1;
      old = sa.children.find((c) => c.spiOut === spi && c.state !== 'deleted');
      if (!old && active instanceof ChildCreateInitiator) {
        // Perhaps the SA our own request is creating, its answer still on the way: not "not found".
        return [notify(NotifyType.TEMPORARY_FAILURE)];
      }
      if (!old || rekeyNotify.protocolId !== ProtocolId.ESP) {
        return [notify(NotifyType.CHILD_SA_NOT_FOUND, Buffer.alloc(0), { protocolId: rekeyNotify.protocolId, spi: rekeyNotify.spi })];
      }
      if (old.state === 'deleting' || old.state === 'rekeyed') return [notify(NotifyType.TEMPORARY_FAILURE)];
      if (old.state === 'rekeying') {
        if (!(active instanceof ChildCreateInitiator) || active.rekeyed !== old) return [notify(NotifyType.TEMPORARY_FAILURE)];
        collidingTask = active;
      }
    } else if (sa.children.some((c) => c.isLive)) {
      // One SA pair per tunnel (AWS Site-to-Site VPN User Guide: "limited to one unique security association (SA) pair per tunnel").
      return [notify(NotifyType.NO_ADDITIONAL_SAS)];
    }
    const saPayload = firstOf(request.payloads, 'SA');
    const nonce = firstOf(request.payloads, 'Nonce');
    const ke = firstOf(request.payloads, 'KE');
    if (!saPayload || !nonce) return [notify(NotifyType.INVALID_SYNTAX)];
    const selection = selectChildProposal(saPayload.proposals, sa.ctx.policy.child, { ignoreDh: false, keGroup: ke?.group });
    if (!selection || selection.offered.spi.length !== 4 || selection.offered.spi.readUInt32BE(0) === 0) {
      return [notify(NotifyType.NO_PROPOSAL_CHOSEN)];
    }
    const group = selection.suite.dhGroup;
    let sharedSecret: Buffer | undefined;
    let ourKe: Payload | undefined;
    if (group !== undefined) {
      if (!ke || ke.group !== group) return [notify(NotifyType.INVALID_KE_PAYLOAD, u16(group))];
      let dh: DhKeyPair;
      try {
        ({ keyPair: dh, sharedSecret } = DhKeyPair.respond(group, ke.data)); // validates before generating
      } catch (e) {
        if (!(e instanceof DhInvalidPublicError)) throw e;
        sa.log.info({ group, reason: e.reason }, 'peer KE value rejected');
        return [notify(NotifyType.NO_PROPOSAL_CHOSEN)];
      }
      ourKe = { kind: 'KE', group, data: dh.publicValue };
    }
    if (!offerCoversAll(firstOf(request.payloads, 'TSi'), firstOf(request.payloads, 'TSr'))) {
      return [notify(NotifyType.TS_UNACCEPTABLE)];
    }
    const spiIn = newChildSpi(sa);
    const nr = sa.ctx.random.bytes(NONCE_LENGTH);
    const keys = deriveChildKeys(prfOf(sa), skDOf(sa), selection.suite, nonce.nonce, nr, sharedSecret);
    wipe(sharedSecret); // the PFS g^ir is only an input to KEYMAT (§2.17)
    const child = new ChildSa({
      id: sa.host.allocateChildId(),
      spiIn: spiIn.readUInt32BE(0),
      spiOut: selection.offered.spi.readUInt32BE(0),
      suite: selection.suite,
      keys,
      initiatedByUs: false,
      nonceI: nonce.nonce,
      nonceR: nr,
      createdAt: sa.ctx.clock.now(),
    });
    this.#after = () => {
      sa.host.childCreated(sa, child, { install: true, ...(old ? { replaces: old } : {}) });
      if (!old) return;
      if (collidingTask) collidingTask.recordCollision(child);
      else if (old.state === 'installed') old.state = 'rekeyed';
    };
    return [
      { kind: 'SA', proposals: [answerProposal(selection, ProtocolId.ESP, spiIn)] },
      { kind: 'Nonce', nonce: nr },
      ...(ourKe ? [ourKe] : []),
      ...allTrafficPayloads(),
    ];
  }
}
