/**
 * IKEv2 protocol core (RFC 7296) for cgwd: one IkeV2Connection per AWS tunnel, a driver on the
 * version-neutral floor of src/ike (options, lifecycle, CHILD SA ledger, events, status, errors).
 *
 *   connection.ts  IkeV2Connection: IKE SA establishment, rekeys and replacement, CHILD SA hand-off
 *   sa/            IkeSa (message IDs, retransmission, responder cache, task queue), ChildSa
 *   tasks/         IKE_SA_INIT, IKE_AUTH, CHILD create/rekey/delete, IKE rekey/delete, DPD
 *   crypto/        key schedule, SK payload protection, PSK AUTH, NAT detection, nonces
 *   proposals/     offers from the tunnel's ProposalPolicy (src/ike/proposals), selection, answer checks
 *   wire/          header, payloads, SK, per-exchange payload rules, errors
 */
export { IkeV2Connection } from './connection.js';
