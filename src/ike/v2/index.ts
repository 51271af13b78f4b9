/**
 * IKEv2 protocol core (RFC 7296) for cgwd: one IkeConnection per AWS tunnel.
 *
 *   connection/  IkeConnection: lifecycle, reconnect, CHILD SA hand-off, events, status
 *   sa/          IkeSa (message IDs, retransmission, responder cache, task queue), ChildSa
 *   tasks/       IKE_SA_INIT, IKE_AUTH, CHILD create/rekey/delete, IKE rekey/delete, DPD
 *   crypto/      key schedule, SK payload protection, PSK AUTH, NAT detection, nonces
 *   proposals/   offers from the tunnel configuration, selection, answer checks
 */
export { IkeConnection, deliverIkeDatagram, type IkeConnectionOptions } from './connection/ike-connection.js';
export type * from './connection/events.js';
export type * from './connection/status.js';
export type { KeylogEntry } from './sa/ike-sa.js';
export { reconnectDelayMs, rekeyAfterSeconds, resolveTiming, retransmitTimeouts, TIMING_DEFAULTS, type IkeTiming } from './timing.js';
export { addressBytes } from './crypto/nat-detection.js';
export { proposalPolicyFor, singleSuitePolicy, type ProposalPolicy, type IkeOffer, type ChildOffer } from './proposals/policy.js';
export { describeChildSuite, describeIkeSuite, type ChildSuite, type IkeSuite } from './proposals/suites.js';
export * from './errors.js';
