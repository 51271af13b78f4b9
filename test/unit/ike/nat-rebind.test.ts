/**
 * NAT rebinding (RFC 7296 §2.23): the NAT in front of the customer gateway forgets its mapping and
 * our datagrams leave from a new port. checkNatMapping() sends an authenticated liveness message
 * at once (IKEv2 INFORMATIONAL, IKEv1 R-U-THERE), and the peer moves to the new port.
 */
import { describe, expect, it } from 'vitest';
import { natCheckDue } from '../../../src/tunnel/nat-rebind.js';
import { CGW_IP, Pair } from './harness/pair.js';

function natPair(version: 'ikev1' | 'ikev2'): Pair {
  const pair = new Pair(version, { cgw: { address: '10.0.0.5' }, timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } });
  pair.net.addNat('10.0.0.5', CGW_IP, 10_000);
  pair.establish();
  return pair;
}

const peerSeesPort = (pair: Pair): string | undefined => pair.aws.connection.status().ikeSas[0]?.remote;

describe.each(['ikev2', 'ikev1'] as const)('NAT rebinding, %s', (version) => {
  it('after the NAT rebinds, one checkNatMapping() moves the peer to the new port within a round trip', () => {
    const pair = natPair(version);
    expect(peerSeesPort(pair)).toBe(`${CGW_IP}:14500`);
    pair.net.rebindNat('10.0.0.5', 20_000);
    pair.run(1_000);
    // Nothing told the peer yet: it still answers the old mapping.
    expect(peerSeesPort(pair)).toBe(`${CGW_IP}:14500`);
    expect(pair.cgw.connection.checkNatMapping()).toBe(true);
    pair.run(200);
    expect(peerSeesPort(pair)).toBe(`${CGW_IP}:24500`);
    expect(pair.cgw.connection.state).toBe('established');
  });

  it('without a NAT in front there is nothing to rebind: no message', () => {
    const pair = new Pair(version).establish();
    const sent = pair.cgw.transport.sent.length;
    expect(pair.cgw.connection.checkNatMapping()).toBe(false);
    pair.run(100);
    expect(pair.cgw.transport.sent.length).toBe(sent);
  });
});

describe('when the keepalive asks IKE to check the mapping', () => {
  it('on the second silent probe in a row, then every fifth', () => {
    const due = Array.from({ length: 20 }, (_, i) => i + 1).filter(natCheckDue);
    expect(due).toEqual([2, 7, 12, 17]);
  });
});
