/**
 * AWS's tunnel activity log fields (User Guide, "Site-to-Site VPN logs": VpnConnectionId,
 * TunnelOutsideIPAddress, TunnelDPDEnabled, TunnelCGWNATTDetectionStatus,
 * TunnelIKEPhase1State, TunnelIKEPhase2State, VpnLogDetail), computed from cgwd's own view of
 * a tunnel, so a line cgwd logs can be put beside the one AWS writes to CloudWatch Logs for
 * the same minute. The phase states use AWS's four values.
 */
import type { ConnectionStatus } from '../ike/index.js';

export type AwsPhaseState = 'Established' | 'Rekeying' | 'Negotiating' | 'Down';

export interface AwsTunnelLogFields {
  readonly VpnConnectionId: string;
  readonly TunnelOutsideIPAddress: string;
  readonly TunnelDPDEnabled: boolean;
  /** What AWS sees: cgwd always UDP-encapsulates, and claims a NAT when there is none. */
  readonly TunnelCGWNATTDetectionStatus: boolean;
  readonly TunnelIKEPhase1State: AwsPhaseState;
  readonly TunnelIKEPhase2State: AwsPhaseState;
  readonly VpnLogDetail: string;
}

const REKEY_TASKS = new Set(['IKE_REKEY']);
const CHILD_REKEY_TASKS = new Set(['CHILD_REKEY']);

export function phase1State(ike: ConnectionStatus | undefined): AwsPhaseState {
  if (!ike) return 'Down';
  const current = ike.ikeSas.find((sa) => sa.current && sa.state === 'established');
  if (current) {
    const rekeying =
      (current.activeTask !== undefined && REKEY_TASKS.has(current.activeTask)) ||
      // IKEv1 re-establishes phase 1 with a new Main Mode beside the current ISAKMP SA.
      ike.ikeSas.some((sa) => sa !== current && sa.state === 'connecting');
    return rekeying ? 'Rekeying' : 'Established';
  }
  return ike.state === 'connecting' ? 'Negotiating' : 'Down';
}

export function phase2State(ike: ConnectionStatus | undefined): AwsPhaseState {
  if (!ike) return 'Down';
  const sas = ike.ikeSas.filter((sa) => sa.state !== 'dead');
  const children = sas.flatMap((sa) => sa.children);
  const live = children.filter((c) => c.installed && (c.state === 'installed' || c.state === 'rekeying'));
  if (live.length > 0) {
    const rekeying = live.some((c) => c.state === 'rekeying') || sas.some((sa) => sa.activeTask !== undefined && CHILD_REKEY_TASKS.has(sa.activeTask));
    return rekeying ? 'Rekeying' : 'Established';
  }
  return ike.state === 'connecting' || ike.state === 'established' ? 'Negotiating' : 'Down';
}

/**
 * The detail text for a tunnel event: AWS's wording where its logs have one for the same
 * event (User Guide, "Site-to-Site VPN log contents"), else a plain description.
 */
export function detailFor(code: string | undefined, reason: string, version: 'ikev1' | 'ikev2'): string {
  switch (code) {
    case 'IKE_PEER_UNREACHABLE':
      return version === 'ikev1' ? 'Peer is not responsive - Declaring peer dead' : `DPD timed out: ${reason}`;
    case 'IKE_AUTHENTICATION_FAILED':
      return version === 'ikev1' ? 'Payload decryption was unsuccessful due to invalid Pre-shared Key' : 'Detected a pre-shared key mismatch';
    case 'IKE_NO_PROPOSAL_CHOSEN':
      return 'No Proposal Match Found';
    case 'IKE_PEER_DELETED':
      return version === 'ikev1' ? 'Received DELETE for IKE_SA from AWS' : 'Received DELETE for IKE_SA';
    case 'IKE_HALF_OPEN_TIMEOUT':
      return 'Timeout: deleting un-established Phase 1 IKE_SA';
    default:
      return reason;
  }
}

export interface TunnelLogInput {
  readonly vpnConnectionId: string;
  readonly awsOutsideAddress: string;
  readonly dpdEnabled: boolean;
  readonly ike: ConnectionStatus | undefined;
  readonly detail: string;
}

export function awsTunnelLogFields(input: TunnelLogInput): AwsTunnelLogFields {
  return {
    VpnConnectionId: input.vpnConnectionId,
    TunnelOutsideIPAddress: input.awsOutsideAddress,
    TunnelDPDEnabled: input.dpdEnabled,
    TunnelCGWNATTDetectionStatus: true,
    TunnelIKEPhase1State: phase1State(input.ike),
    TunnelIKEPhase2State: phase2State(input.ike),
    VpnLogDetail: input.detail,
  };
}
