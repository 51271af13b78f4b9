/**
 * The CHILD SAs of one connection as the data plane holds them (IKEv2 CHILD SAs, IKEv1 IPsec
 * SAs), the same in both versions:
 *
 *   install    the ChildSaInstall the sink gets is built here, the SA is recorded in install
 *              order (the data plane sends on the newest installed SA that is not held) and
 *              keylogged; a held SA decrypts at once and sends after `release`;
 *   remove     now, or after a grace period: make-before-break, a replaced SA's inbound half
 *              stays installed a while for the packets still on their way;
 *   removeAll  when the connection stops, whatever grace periods are pending.
 *
 * Which SA replaces which, and when, is the driver's business; so is the SA's lifetime, which
 * IKEv1 negotiates and IKEv2 does not (timing.ts saSchedule).
 */
import type { Logger } from 'pino';
import type { TunnelConfig } from '../../config/model.js';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../crypto/transforms.js';
import { describeError } from '../errors.js';
import type { ChildSaInstall, ChildSaSink, Clock, Endpoint, TimerHandle } from '../runtime.js';
import type { SaSchedule } from '../timing.js';
import type { KeylogEntry } from './keylog.js';

/** ESP keys by direction, as the data plane uses them. */
export interface DirectionalKeys {
  readonly encIn: Buffer;
  readonly encOut: Buffer;
  readonly integIn: Buffer | undefined;
  readonly integOut: Buffer | undefined;
}

/** What the ledger reads of a CHILD SA. */
export interface LedgerChild {
  readonly id: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: { readonly encryption: EncryptionName; readonly integrity?: IntegrityName; readonly dhGroup?: DhGroupNumber };
  readonly directionalKeys: DirectionalKeys;
  readonly createdAt: number;
  readonly initiatedByUs: boolean;
  /** The data plane holds it (the redundant SA of a rekey collision never gets there). */
  handedToSink: boolean;
  /** Drops the SA's references to its keys once the sink has them. */
  releaseKeys?(): void;
}

function copyInstallKeys(install: ChildSaInstall): ChildSaInstall {
  const copy = (b: Buffer | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b));
  return {
    ...install,
    encKeyIn: Buffer.from(install.encKeyIn),
    encKeyOut: Buffer.from(install.encKeyOut),
    ...(install.integKeyIn ? { integKeyIn: copy(install.integKeyIn) } : {}),
    ...(install.integKeyOut ? { integKeyOut: copy(install.integKeyOut) } : {}),
  };
}

export interface ChildLedgerParams {
  readonly tunnel: TunnelConfig;
  readonly sink: ChildSaSink;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly keylog: ((entry: KeylogEntry) => void) | undefined;
}

interface Entry {
  readonly child: LedgerChild;
  /** A pending delayed removal. */
  timer: TimerHandle | undefined;
  /** Installed inbound-only: the data plane does not send on it yet. */
  held: boolean;
}

export class ChildLedger {
  readonly #params: ChildLedgerParams;
  /** Installed SAs by id, in install order (a Map keeps insertion order). */
  readonly #installed = new Map<number, Entry>();

  constructor(params: ChildLedgerParams) {
    this.#params = params;
  }

  /** How many SAs the data plane holds (a replaced one counts until its grace period ends). */
  get size(): number {
    return this.#installed.size;
  }

  /** Hands `child` to the data plane; `path` is where ESP goes (UDP-encapsulated, RFC 3948). */
  install(child: LedgerChild, path: { readonly local: Endpoint; readonly remote: Endpoint }, schedule: SaSchedule, holdOutbound = false): ChildSaInstall {
    const keys = child.directionalKeys;
    const tunnel = this.#params.tunnel;
    const install: ChildSaInstall = {
      id: child.id,
      tunnel: tunnel.index,
      spiIn: child.spiIn,
      spiOut: child.spiOut,
      encryption: child.suite.encryption,
      ...(child.suite.integrity ? { integrity: child.suite.integrity } : {}),
      encKeyIn: keys.encIn,
      encKeyOut: keys.encOut,
      ...(keys.integIn ? { integKeyIn: keys.integIn } : {}),
      ...(keys.integOut ? { integKeyOut: keys.integOut } : {}),
      local: path.local,
      remote: path.remote,
      replayWindow: tunnel.ipsec.replayWindow,
      ...(child.suite.dhGroup !== undefined ? { pfsGroup: child.suite.dhGroup } : {}),
      softLifetimeSeconds: schedule.rekeySeconds,
      hardLifetimeSeconds: schedule.hardLifetimeSeconds,
      createdAt: child.createdAt,
      initiatedByUs: child.initiatedByUs,
      ...(holdOutbound ? { holdOutbound } : {}),
    };
    child.handedToSink = true;
    this.#installed.set(child.id, { child, timer: undefined, held: holdOutbound });
    // The key log first: a sink may wipe the key buffers once the data plane has copied them.
    this.#params.keylog?.({ kind: 'child', install: copyInstallKeys(install) });
    try {
      this.#params.sink.installChildSa(install);
    } catch (error) {
      this.#params.logger.error({ child: child.id, err: describeError(error) }, 'data plane refused the CHILD SA');
    }
    child.releaseKeys?.(); // the sink owns the key buffers now; the IKE side keeps no reference
    return install;
  }

  /** The data plane sends on this SA: the newest one it holds that is not held back. */
  isOutbound(child: LedgerChild): boolean {
    return child.handedToSink && this.#outboundId() === child.id;
  }

  #outboundId(): number | undefined {
    return [...this.#installed.values()].filter((e) => !e.held).at(-1)?.child.id;
  }

  /** A held SA starts sending. */
  release(child: LedgerChild): void {
    const entry = this.#installed.get(child.id);
    // Not one on its way out (deleted, waiting out its grace period): that one never sends again.
    if (!entry?.held || entry.timer) return;
    entry.held = false;
    try {
      this.#params.sink.releaseChildSa(child.id);
    } catch (error) {
      this.#params.logger.error({ child: child.id, err: describeError(error) }, 'data plane failed to release the CHILD SA');
    }
  }

  /** Out of the data plane now, or after `graceMs` (a removal already pending keeps its time). */
  remove(child: LedgerChild, reason: string, graceMs: number): void {
    if (!child.handedToSink) return;
    const entry = this.#installed.get(child.id);
    if (!entry) return;
    const remove = (): void => {
      entry.timer = undefined;
      // The SA that sends goes: a held one takes over rather than none.
      if (this.#outboundId() === child.id) for (const other of this.#installed.values()) if (other.held) this.release(other.child);
      this.#installed.delete(child.id);
      child.handedToSink = false;
      this.#removeFromSink(child.id, reason);
    };
    if (graceMs <= 0) {
      entry.timer?.cancel();
      remove();
      return;
    }
    if (entry.timer) return;
    entry.timer = this.#params.clock.setTimer(graceMs, remove);
  }

  /** Everything out of the data plane at once (the connection stops). */
  removeAll(reason: string): void {
    for (const [id, entry] of [...this.#installed]) {
      entry.timer?.cancel();
      this.#installed.delete(id);
      entry.child.handedToSink = false;
      this.#removeFromSink(id, reason);
    }
  }

  #removeFromSink(id: number, reason: string): void {
    try {
      this.#params.sink.removeChildSa(id, reason);
    } catch (error) {
      this.#params.logger.error({ child: id, err: describeError(error) }, 'data plane failed to remove the CHILD SA');
    }
  }
}

/** What a CHILD SA timer needs of its SA. */
export interface TimedChild {
  readonly state: string;
  readonly timers: Set<TimerHandle>;
}

/** A timer tied to a CHILD SA: cancelled with the SA's other timers, skipped once the SA is deleted. */
export function setChildTimer(clock: Clock, child: TimedChild, delayMs: number, callback: () => void): void {
  const timer = clock.setTimer(Math.max(0, delayMs), () => {
    child.timers.delete(timer);
    if (child.state === 'deleted') return;
    callback();
  });
  child.timers.add(timer);
}
