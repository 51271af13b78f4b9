/**
 * cgwd's IKE: one connection per AWS tunnel, IKEv2 (RFC 7296) or IKEv1 (RFC 2408/2409), two
 * drivers on one version-neutral floor (in the manner of strongSwan's sa/ above sa/ikev1 and
 * sa/ikev2).
 *
 *   connection/  the connection's options, context, events and status; the lifecycle and
 *                CHILD SA ledger both drivers use
 *   proposals/   what a tunnel offers and accepts (ProposalPolicy), negotiated suites
 *   errors.ts, drop-reasons.ts, timing.ts, identity.ts   shared by both versions
 *   v2/, v1/     the protocol drivers; nothing in one imports the other
 *   transport/   UDP 500/4500, demultiplexed by peer
 */
export { deliverIkeDatagram, type IkeConnection, type IkeConnectionEventSource } from './connection/ike-connection.js';
export { IkeV1Connection } from './v1/index.js';
export { IkeV2Connection } from './v2/index.js';
export type { IkeConnectionOptions } from './connection/options.js';
export type * from './connection/events.js';
export type * from './connection/status.js';
export type { KeylogEntry, IkeSaKeys } from './connection/keylog.js';
export { resolveTiming, retransmitTimeouts, reconnectDelayMs, rekeyAfterSeconds, TIMING_DEFAULTS, type IkeTiming } from './timing.js';
export { proposalPolicyFor, singleSuitePolicy, type ProposalPolicy, type IkeOffer, type ChildOffer } from './proposals/policy.js';
export { describeChildSuite, describeIkeSuite, type ChildSuite, type IkeSuite } from './proposals/suites.js';
export { DropReason } from './drop-reasons.js';
export * from './errors.js';
