/**
 * IKEv1 protocol core (RFC 2408/2409 with the IPsec DOI RFC 2407, NAT-T RFC 3947, DPD RFC 3706)
 * for cgwd: one IkeV1Connection per AWS tunnel, on the version-neutral floor of src/ike (the
 * same options, events, status and errors as IKEv2) so the daemon can run either.
 *
 *   connection.ts   IkeV1Connection: Main Mode and phase 1 re-establishment, quick modes and phase 2 rekeys, IPsec SA hand-off
 *   sa/             IsakmpSa (message plumbing, retransmission, DPD), IpsecSa, the IKEv1 context
 *   tasks/          Main Mode, Quick Mode, Informational
 *   crypto/         key schedule and HASHes (RFC 2409 §5), CBC protection with per-exchange IVs
 *   proposals.ts    offers from the tunnel's ProposalPolicy, selection, answer checks
 *   wire/           header, payloads, SA structures, data attributes, per-message payload rules, errors
 */
export { IkeV1Connection } from './connection.js';
export { IsakmpVersionError, InvalidPayloadTypeError, V1WireErrorCode } from './wire/errors.js';
export { phase1Choices, phase2Choices, type Phase1Suite, type Phase2Suite } from './proposals.js';
