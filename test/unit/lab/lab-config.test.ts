import { describe, expect, it } from 'vitest';
import { birdConf } from '../../../src/lab/bird.js';
import { awsDefaultSuite, proposals, swanctlConf, type SwanConnection } from '../../../src/lab/strongswan.js';
import { summariseSas } from '../../../src/lab/lab.js';

describe('lab strongSwan configuration', () => {
  it('splits CBC and GCM suites into separate proposals, PRFs only for IKE AEAD', () => {
    const suite = { encryption: ['aes128-cbc', 'aes256-gcm16'] as const, integrity: ['hmac-sha256-128'] as const, dhGroups: [14, 19] as const };
    expect(proposals(suite, 'ike')).toBe('aes128-sha256-modp2048-ecp256,aes256gcm16-prfsha256-modp2048-ecp256');
    expect(proposals(suite, 'esp')).toBe('aes128-sha256-modp2048-ecp256,aes256gcm16-modp2048-ecp256');
  });

  it('AWS defaults: group 5 only in phase 2', () => {
    expect(awsDefaultSuite(1).dhGroups).not.toContain(5);
    expect(awsDefaultSuite(2).dhGroups).toContain(5);
    expect(awsDefaultSuite(1).dhGroups).toHaveLength(12);
  });

  it('puts the PSK only in the secrets section', () => {
    const conn: SwanConnection = {
      name: 'aws', version: 2, localAddress: '203.0.113.10', remoteAddress: '198.51.100.10', localId: '203.0.113.10',
      remoteId: '198.51.100.10', psk: 'SecretPsk_123', ike: awsDefaultSuite(1), esp: awsDefaultSuite(2),
      ikeLifetime: 28800, childLifetime: 3600, dpdDelay: 10, role: 'responder',
    };
    const text = swanctlConf([conn]);
    const [connections, secrets] = text.split('secrets {');
    expect(connections).not.toContain('SecretPsk_123');
    expect(secrets).toContain('secret = "SecretPsk_123"');
    expect(connections).toContain('remote_addrs = %any');
    expect(connections).toContain('local_ts = 0.0.0.0/0');
  });

  it('BIRD sessions keep a third of the hold time as keepalive', () => {
    const text = birdConf({
      routerId: '198.19.0.1', originate: ['198.19.0.0/16'],
      neighbors: [{ name: 'tunnel1', localAddress: '169.254.10.1', localAsn: 64512, neighborAddress: '169.254.10.2', neighborAsn: 65000, interfaceName: 'tun1', holdTime: 30 }],
    });
    expect(text).toContain('local 169.254.10.1 as 64512;');
    expect(text).toContain('neighbor 169.254.10.2 as 65000;');
    expect(text).toContain('keepalive time 10;');
    expect(text).toContain('route 198.19.0.0/16 unreachable;');
  });

  it('summarises swanctl --list-sas output', () => {
    const text = `aws: #1, ESTABLISHED, IKEv2, fbfa4e548cd3353c_i 42d8f807d3aeef01_r*
  aws: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-128/HMAC_SHA1_96
`;
    expect(summariseSas(text)).toEqual({ ikeSa: 'ESTABLISHED IKEv2', childSa: 'INSTALLED ESP:AES_CBC-128/HMAC_SHA1_96' });
    expect(summariseSas('')).toEqual({ ikeSa: 'none', childSa: 'none' });
  });
});
