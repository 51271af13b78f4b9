import { describe, expect, it } from 'vitest';
import { awsTunnelLogFields, detailFor, phase1State, phase2State } from '../../../src/metrics/aws-tunnel-log.js';
import { connection, ikeSa } from './fixtures.js';

describe("AWS's tunnel log phase states", () => {
  it('Established, Rekeying, Negotiating, Down for phase 1', () => {
    expect(phase1State(connection())).toBe('Established');
    expect(phase1State(connection({ ikeSas: [ikeSa({ activeTask: 'IKE_REKEY' })] }))).toBe('Rekeying');
    // IKEv1: a new Main Mode beside the current ISAKMP SA.
    expect(phase1State(connection({ ikeSas: [ikeSa(), ikeSa({ current: false, state: 'connecting', children: [] })] }))).toBe('Rekeying');
    expect(phase1State(connection({ state: 'connecting', ikeSas: [ikeSa({ state: 'connecting' })] }))).toBe('Negotiating');
    expect(phase1State(connection({ state: 'backoff', ikeSas: [] }))).toBe('Down');
    expect(phase1State(undefined)).toBe('Down');
  });

  it('Established, Rekeying, Negotiating, Down for phase 2', () => {
    expect(phase2State(connection())).toBe('Established');
    const rekeying = ikeSa();
    expect(phase2State(connection({ ikeSas: [{ ...rekeying, children: [{ ...rekeying.children[0]!, state: 'rekeying' }] }] }))).toBe('Rekeying');
    expect(phase2State(connection({ ikeSas: [ikeSa({ activeTask: 'CHILD_REKEY' })] }))).toBe('Rekeying');
    expect(phase2State(connection({ ikeSas: [ikeSa({ children: [] })] }))).toBe('Negotiating');
    const notInstalled = ikeSa();
    expect(phase2State(connection({ ikeSas: [{ ...notInstalled, children: [{ ...notInstalled.children[0]!, installed: false }] }] }))).toBe('Negotiating');
    expect(phase2State(connection({ state: 'waiting', ikeSas: [] }))).toBe('Down');
  });

  it("uses AWS's wording for the events its logs name", () => {
    expect(detailFor('IKE_PEER_UNREACHABLE', 'no response to INFORMATIONAL after 3 transmissions', 'ikev1')).toBe('Peer is not responsive - Declaring peer dead');
    expect(detailFor('IKE_PEER_UNREACHABLE', 'no response to INFORMATIONAL after 3 transmissions', 'ikev2')).toMatch(/^DPD timed out/);
    expect(detailFor('IKE_NO_PROPOSAL_CHOSEN', 'x', 'ikev2')).toBe('No Proposal Match Found');
    expect(detailFor('SOMETHING_ELSE', 'plain reason', 'ikev2')).toBe('plain reason');
    const f = awsTunnelLogFields({ vpnConnectionId: 'vpn-1', awsOutsideAddress: '203.0.113.1', dpdEnabled: true, ike: connection(), detail: 'd' });
    expect(f).toEqual({
      VpnConnectionId: 'vpn-1', TunnelOutsideIPAddress: '203.0.113.1', TunnelDPDEnabled: true, TunnelCGWNATTDetectionStatus: true,
      TunnelIKEPhase1State: 'Established', TunnelIKEPhase2State: 'Established', VpnLogDetail: 'd',
    });
  });
});
