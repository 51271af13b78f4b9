/**
 * Rekeying the IKE SA (RFC 7296 §1.3.2, §2.8, §2.18), collisions per §2.8.2 and §2.25.2.
 *
 *   Initiator (on the old SA)                          Responder
 *   HDR, SK { SA(IKE, new SPIi), Ni, KEi }        -->
 *                                                 <--  HDR, SK { SA(IKE, new SPIr), Nr, KEr }
 *
 *   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); the new SA's keys from prf+ over
 *   Ni | Nr | SPIi | SPIr as usual (§2.18). The rekey's initiator is the new SA's original
 *   initiator; both message-ID windows start at 0.
 *
 * The CHILD SAs move to the new IKE SA; the rekey's initiator then deletes the old IKE SA
 * (an INFORMATIONAL Delete on the old SA). The responder moves its CHILD SAs as soon as its
 * answer is out and waits for that Delete.
 *
 * Collisions (§2.8.2, §2.25.2):
 *   both sides rekey the IKE SA   → both answer as usual; when our answer arrives, the new SA
 *                                   made with the lowest of the four nonces is redundant: its
 *                                   initiator deletes it (a Delete sent on that new SA); the
 *                                   surviving SA's initiator deletes the old one; CHILD SAs
 *                                   move to the survivor
 *   peer deletes the old SA while our colliding rekey is out → it won: CHILD SAs move to its
 *                                   new SA; our own new SA, if our answer still comes, is deleted
 *   IKE rekey request while we create/rekey/delete a CHILD SA, or delete the IKE SA
 *                                 → TEMPORARY_FAILURE (and the peer retries later)
 *   TEMPORARY_FAILURE to our rekey → try again after a random delay — unless we answered the
 *                                   peer's colliding rekey: then that one stands and the CHILD
 *                                   SAs move to it
 *   an IKE SA born in a rekey that nobody ends up using (its initiator never heard the answer)
 *                                 → deleted by the connection's sweep
 */
import { wipe } from '../../../crypto/bytes.js';
import { DhKeyPair } from '../../../crypto/dh.js';
import { DhInvalidPublicError } from '../../../crypto/errors.js';
import type { DhGroupNumber } from '../../../crypto/transforms.js';
import { ExchangeType, NotifyType, ProtocolId, SPI_SIZE, notifyTypeName } from '../wire/constants.js';
import type { Payload } from '../wire/payloads.js';
import type { Proposal } from '../wire/sa.js';
import { expandIkeKeys, rekeySkeyseed } from '../crypto/keys.js';
import { NONCE_LENGTH, ourExchangeLoses } from '../crypto/nonce.js';
import { InvalidResponseError, NoProposalChosenError, PeerDeletedError, PeerErrorNotifyError, type IkeError } from '../../errors.js';
import { answerProposal, buildIkeProposals, offeredDhGroups, selectIkeProposal, verifyIkeAnswer } from '../proposals/proposals.js';
import type { IkeSuite } from '../../proposals/suites.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { findNotify, firstErrorNotify, firstOf, notify, u16, type InboundMessage } from '../sa/payload-helpers.js';
import { IkeDeleteInitiator } from './ike-delete.js';
import { temporaryFailureDelayMs } from '../timing.js';
import { DONE, RETRY, type InitiatorTask, type TaskResult } from './task.js';

const MAX_INVALID_KE_ROUNDS = 3;
const CHILD_TASKS: ReadonlySet<string> = new Set(['CHILD_CREATE', 'CHILD_REKEY', 'CHILD_DELETE']);

function newIkeSpi(sa: IkeSa): Buffer {
  for (;;) {
    const spi = sa.ctx.random.bytes(SPI_SIZE.IKE);
    if (!spi.every((b) => b === 0)) return spi;
  }
}

function newSaKeys(old: IkeSa, suite: IkeSuite, sharedSecret: Buffer, ni: Buffer, nr: Buffer, spiI: Buffer, spiR: Buffer): ReturnType<typeof expandIkeKeys> {
  const oldSuite = old.suite;
  const oldKeys = old.keys;
  if (!oldSuite || !oldKeys) throw new InvalidResponseError('CREATE_CHILD_SA', 'old IKE SA without keys');
  const skeyseed = rekeySkeyseed(oldSuite.prf, oldKeys.skD, sharedSecret, ni, nr);
  const keys = expandIkeKeys(suite, skeyseed, ni, nr, spiI, spiR);
  wipe(skeyseed, sharedSecret); // §2.18: only SK_* of the new SA are kept
  return keys;
}

export class IkeRekeyInitiator implements InitiatorTask {
  readonly name = 'IKE_REKEY' as const;
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  readonly #sa: IkeSa;
  #spi: Buffer | undefined;
  #nonce: Buffer = Buffer.alloc(0);
  #group: DhGroupNumber;
  #dh: DhKeyPair | undefined;
  #proposals: Proposal[] = [];
  #invalidKeRounds = 0;
  /** The new IKE SA the peer created with its own colliding rekey (we answered it). */
  #collision: IkeSa | undefined;
  /** The peer deleted the old SA while this request was out: its colliding SA won. */
  #oldDeletedByPeer = false;

  constructor(sa: IkeSa) {
    this.#sa = sa;
    this.#group = sa.suite?.dhGroup ?? sa.ctx.policy.ikeKeGroup;
  }

  get collision(): IkeSa | undefined {
    return this.#collision;
  }

  recordCollision(peerSa: IkeSa): void {
    this.#collision = peerSa;
  }

  /** §2.25.2: the peer closed the old SA after winning the collision; we only wait for our answer. */
  oldSaDeletedByPeer(): void {
    this.#oldDeletedByPeer = true;
  }

  isObsolete(): boolean {
    return this.#sa.state !== 'established';
  }

  build(): Payload[] {
    const sa = this.#sa;
    this.#collision = undefined;
    this.#oldDeletedByPeer = false;
    this.#spi ??= newIkeSpi(sa);
    this.#nonce = sa.ctx.random.bytes(NONCE_LENGTH);
    this.#dh = DhKeyPair.generate(this.#group);
    this.#proposals = buildIkeProposals(sa.ctx.policy.ike, this.#spi);
    return [
      { kind: 'SA', proposals: this.#proposals },
      { kind: 'Nonce', nonce: this.#nonce },
      { kind: 'KE', group: this.#group, data: this.#dh.publicValue },
    ];
  }

  process(response: InboundMessage): TaskResult {
    const sa = this.#sa;
    const error = firstErrorNotify(response.payloads);
    if (error) return this.#handleError(error.notifyType, response);
    const saPayload = firstOf(response.payloads, 'SA');
    const nonce = firstOf(response.payloads, 'Nonce');
    const ke = firstOf(response.payloads, 'KE');
    const dh = this.#dh;
    if (!saPayload || !nonce || !ke || !dh) return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', 'SA, Nonce or KE missing'));
    const { suite, spi: peerSpi } = verifyIkeAnswer(saPayload.proposals, this.#proposals, 'CREATE_CHILD_SA');
    if (peerSpi.length !== SPI_SIZE.IKE || peerSpi.every((b) => b === 0)) {
      return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', 'new IKE SPI missing'));
    }
    if (ke.group !== dh.group || suite.dhGroup !== dh.group) return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', 'KE of another group'));
    let sharedSecret: Buffer;
    try {
      sharedSecret = dh.computeSharedSecret(ke.data);
    } catch (e) {
      if (e instanceof DhInvalidPublicError) return this.#failed(new InvalidResponseError('CREATE_CHILD_SA', e.message));
      throw e;
    }
    const ourSpi = this.#spi as Buffer;
    const keys = newSaKeys(sa, suite, sharedSecret, this.#nonce, nonce.nonce, ourSpi, peerSpi);
    const newSa = sa.host.createIkeSa({
      originalInitiator: true,
      spiI: ourSpi,
      spiR: Buffer.from(peerSpi),
      local: sa.local,
      remote: sa.remote,
      established: { suite, keys, nonceI: this.#nonce, nonceR: nonce.nonce },
    });
    const peerSa = this.#collision?.isAlive ? this.#collision : undefined;
    if (this.#collision) sa.host.countCollision('ike');
    const weLose =
      this.#oldDeletedByPeer ||
      (peerSa !== undefined && ourExchangeLoses([this.#nonce, nonce.nonce], [peerSa.nonceI as Buffer, peerSa.nonceR as Buffer]));
    if (weLose) {
      sa.log.info('IKE rekey collision lost: deleting our redundant IKE SA');
      newSa.queueTask(new IkeDeleteInitiator(newSa, 'redundant after an IKE rekey collision'));
      if (peerSa && sa.state === 'established') sa.host.ikeSaRekeyed(sa, peerSa, { weInitiated: false });
      if (this.#oldDeletedByPeer) sa.die(new PeerDeletedError('IKE SA'));
      return DONE;
    }
    if (peerSa) sa.log.info('IKE rekey collision won');
    sa.host.ikeSaRekeyed(sa, newSa, { weInitiated: true });
    sa.queueTask(new IkeDeleteInitiator(sa, 'rekeyed'));
    return DONE;
  }

  #handleError(notifyType: number, response: InboundMessage): TaskResult {
    const sa = this.#sa;
    if (notifyType !== NotifyType.INVALID_KE_PAYLOAD && this.#adoptPeerRekey()) return DONE;
    switch (notifyType) {
      case NotifyType.TEMPORARY_FAILURE:
        return { status: 'requeue', afterMs: temporaryFailureDelayMs(sa.ctx.timing, sa.ctx.random) };
      case NotifyType.INVALID_KE_PAYLOAD: {
        const wanted = findNotify(response.payloads, NotifyType.INVALID_KE_PAYLOAD)?.data.readUInt16BE(0);
        if (wanted !== undefined && wanted !== this.#group && offeredDhGroups(this.#proposals).includes(wanted as DhGroupNumber) && ++this.#invalidKeRounds <= MAX_INVALID_KE_ROUNDS) {
          this.#group = wanted as DhGroupNumber;
          return RETRY;
        }
        return this.#failed(new NoProposalChosenError(`peer wants DH group ${wanted ?? '?'} for the IKE rekey`));
      }
      default:
        return this.#failed(new PeerErrorNotifyError('CREATE_CHILD_SA', notifyType, notifyTypeName(notifyType)));
    }
  }

  /**
   * Our rekey produced nothing, but we answered the peer's colliding one: that one stands
   * (there is no collision left to resolve) and the CHILD SAs move to it.
   */
  #adoptPeerRekey(): boolean {
    const sa = this.#sa;
    const peerSa = this.#collision;
    if (!peerSa?.isAlive || (sa.state !== 'established' && !this.#oldDeletedByPeer)) return false;
    sa.host.ikeSaRekeyed(sa, peerSa, { weInitiated: false });
    if (this.#oldDeletedByPeer) sa.die(new PeerDeletedError('IKE SA'));
    return true;
  }

  abandon(): void {
    // The old SA died with our request out; a colliding rekey we answered still stands.
    const peerSa = this.#collision;
    if (peerSa?.isAlive && this.#sa.children.length > 0) this.#sa.host.ikeSaRekeyed(this.#sa, peerSa, { weInitiated: false });
  }

  #failed(error: IkeError): TaskResult {
    if (this.#adoptPeerRekey()) return DONE;
    const sa = this.#sa;
    if (sa.state === 'established') sa.host.ikeRekeyLater(sa, sa.ctx.timing.rekeyRetryMs);
    return { status: 'failed', error, fatal: false };
  }
}

/** The responder half, run from CreateChildResponder: the answer and what to do once it is sent. */
export function respondToIkeRekey(sa: IkeSa, request: InboundMessage): { answer: Payload[]; after?: () => void } {
  const refuse = (type: number, data?: Buffer): { answer: Payload[] } => ({ answer: [notify(type, data)] });
  const active = sa.activeTask;
  if (sa.state !== 'established' || sa.collisionCandidateOf || active?.name === 'IKE_DELETE' || (active && CHILD_TASKS.has(active.name))) {
    return refuse(NotifyType.TEMPORARY_FAILURE);
  }
  const collidingTask = active instanceof IkeRekeyInitiator ? active : undefined;
  const saPayload = firstOf(request.payloads, 'SA');
  const nonce = firstOf(request.payloads, 'Nonce');
  const ke = firstOf(request.payloads, 'KE');
  if (!saPayload || !nonce || !ke) return refuse(NotifyType.INVALID_SYNTAX);
  const selection = selectIkeProposal(saPayload.proposals, sa.ctx.policy.ike, ke.group);
  const peerSpi = selection?.offered.spi;
  if (!selection || !peerSpi || peerSpi.length !== SPI_SIZE.IKE || peerSpi.every((b) => b === 0)) {
    return refuse(NotifyType.NO_PROPOSAL_CHOSEN);
  }
  if (ke.group !== selection.suite.dhGroup) return refuse(NotifyType.INVALID_KE_PAYLOAD, u16(selection.suite.dhGroup));
  let dh: DhKeyPair;
  let sharedSecret: Buffer;
  try {
    ({ keyPair: dh, sharedSecret } = DhKeyPair.respond(selection.suite.dhGroup, ke.data)); // validates before generating
  } catch (e) {
    if (!(e instanceof DhInvalidPublicError)) throw e;
    return refuse(NotifyType.NO_PROPOSAL_CHOSEN);
  }
  const ourSpi = newIkeSpi(sa);
  const nr = sa.ctx.random.bytes(NONCE_LENGTH);
  const keys = newSaKeys(sa, selection.suite, sharedSecret, nonce.nonce, nr, peerSpi, ourSpi);
  const newSa = sa.host.createIkeSa({
    originalInitiator: false,
    spiI: Buffer.from(peerSpi),
    spiR: ourSpi,
    local: sa.local,
    remote: sa.remote,
    established: { suite: selection.suite, keys, nonceI: nonce.nonce, nonceR: nr },
  });
  return {
    answer: [
      { kind: 'SA', proposals: [answerProposal(selection, ProtocolId.IKE, ourSpi)] },
      { kind: 'Nonce', nonce: nr },
      { kind: 'KE', group: selection.suite.dhGroup, data: dh.publicValue },
    ],
    after: () => {
      if (collidingTask && sa.activeTask === collidingTask) {
        collidingTask.recordCollision(newSa);
        newSa.collisionCandidateOf = sa;
        return;
      }
      sa.host.ikeSaRekeyed(sa, newSa, { weInitiated: false });
    },
  };
}
