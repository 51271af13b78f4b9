/**
 * The BGP messages cgwd speaks, as plain data. Prefixes and addresses are
 * text ("10.0.0.0/16", "169.254.10.1"); AS numbers are always the full 32-bit
 * value whatever width the wire used; opaque parts stay Buffers.
 */
import type { Origin } from './constants.js';
import type { UpdateProblem } from './errors.js';

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  /** Forwarding State bit for this family (RFC 4724 §3). */
  readonly forwardingState: boolean;
}

/** One capability from an OPEN's Capabilities Optional Parameter (RFC 5492 §4). */
export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh' }
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  | {
      readonly kind: 'graceful-restart';
      readonly restartState: boolean;
      readonly restartTimeSeconds: number;
      readonly families: readonly GracefulRestartFamily[];
    }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Buffer };

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS does not fit, RFC 6793 §4.2.1). */
  readonly myAs: number;
  readonly holdTimeSeconds: number;
  /** BGP Identifier as an unsigned 32-bit number. */
  readonly bgpIdentifier: number;
  readonly capabilities: readonly Capability[];
}

export type AsPathSegmentKind = 'sequence' | 'set';

export interface AsPathSegment {
  readonly kind: AsPathSegmentKind;
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

/** An attribute kept as received: an unrecognised optional transitive one (RFC 4271 §5, §9). */
export interface RawAttribute {
  /** Flags without the Extended Length bit, which the encoder chooses. */
  readonly flags: number;
  readonly typeCode: number;
  readonly value: Buffer;
}

export interface PathAttributes {
  readonly origin?: Origin;
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly multiExitDisc?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: Aggregator;
  /** COMMUNITIES (RFC 1997), kept opaque: a non-empty multiple of 4 octets. */
  readonly communities?: Buffer;
  /** MP_REACH_NLRI for IPv4 unicast (RFC 4760 §3); other families are ignored. */
  readonly mpReach?: { readonly nextHop: string; readonly nlri: readonly string[] };
  /** MP_UNREACH_NLRI for IPv4 unicast (RFC 4760 §4). */
  readonly mpUnreach?: { readonly withdrawn: readonly string[] };
  /** AS4_PATH from a 2-octet-only peer (RFC 6793 §4.2.3); never exchanged between 4-octet speakers. */
  readonly as4Path?: readonly AsPathSegment[];
  readonly as4Aggregator?: Aggregator;
  readonly other?: readonly RawAttribute[];
}

export interface UpdateMessage {
  readonly type: 'update';
  readonly withdrawn: readonly string[];
  readonly attributes: PathAttributes;
  readonly nlri: readonly string[];
  /**
   * Faults RFC 7606 lets the session survive, filled in by the decoder only.
   * Any 'treat-as-withdraw' problem means every route this UPDATE announces is
   * to be handled as withdrawn (RFC 7606 §2).
   */
  readonly problems?: readonly UpdateProblem[];
}

export interface NotificationMessage {
  readonly type: 'notification';
  readonly errorCode: number;
  readonly errorSubcode: number;
  readonly data: Buffer;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /** The Reserved octet (RFC 2918 §3), Message Subtype since RFC 7313 §3. */
  readonly subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** Whether RFC 7606 turned this UPDATE's announcements into withdrawals. */
export function isTreatAsWithdraw(update: UpdateMessage): boolean {
  return update.problems?.some((p) => p.handling === 'treat-as-withdraw') ?? false;
}

/** End-of-RIB for IPv4 unicast: an UPDATE with nothing in it (RFC 4724 §2). */
export function isEndOfRib(update: UpdateMessage): boolean {
  return update.withdrawn.length === 0 && update.nlri.length === 0 && Object.keys(update.attributes).length === 0;
}
