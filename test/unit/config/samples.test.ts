import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, resolveSettings, type VpnConfig } from '../../../src/config/index.js';
import { fixtureSamplesDir, readSample, SAMPLE_NAMES, sharedSamplesDir, sharedSamplesPresent } from './helpers.js';

// The fixture copies always; the shared originals too when shared/ sits beside the repository (it does in CI).
const sampleDirs = [fixtureSamplesDir, ...(sharedSamplesPresent ? [sharedSamplesDir] : [])];

describe.each(sampleDirs)('every AWS sample in %s', (dir) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml')).sort();

  it('holds the four known samples', () => {
    expect(files).toEqual([...SAMPLE_NAMES]);
  });

  it.each(files)('%s parses, validates and resolves default settings', (file) => {
    const config = loadConfig(path.join(dir, file));
    expect(config.tunnels).toHaveLength(2);
    expect(config.source).toBe('xml');
    const settings = resolveSettings(undefined, {}, config);
    expect(settings.ikeVersion).toBe('ikev2');
  });

  it.each(files)('%s is byte-identical to the fixture copy', (file) => {
    expect(readFileSync(path.join(dir, file), 'utf8')).toBe(readFileSync(path.join(fixtureSamplesDir, file), 'utf8'));
  });
});

function load(name: (typeof SAMPLE_NAMES)[number]): VpnConfig {
  return parseConfig(readSample(name));
}

describe('sample values', () => {
  it('batfish BGP to a virtual private gateway', () => {
    const c = load('sample-batfish-bgp-vgw.xml');
    expect(c).toMatchObject({
      connectionId: 'vpn-ba2e34a8',
      customerGatewayId: 'cgw-fb76ace5',
      vpnGatewayId: 'vgw-81fd279f',
      target: 'vgw',
      routing: 'bgp',
      source: 'xml',
    });
    const [t1, t2] = c.tunnels;
    expect(t1).toMatchObject({
      index: 1,
      customer: { outsideAddress: '147.75.69.27', insideAddress: '169.254.15.194', bgp: { asn: 65301, holdTime: 30 } },
      aws: { outsideAddress: '52.27.166.152', insideAddress: '169.254.15.193', bgp: { asn: 65401, holdTime: 30 } },
      insideCidr: '169.254.15.192/30',
    });
    expect(t2).toMatchObject({
      index: 2,
      customer: { outsideAddress: '147.75.69.27', insideAddress: '169.254.13.238', bgp: { asn: 65301, holdTime: 30 } },
      aws: { outsideAddress: '52.39.121.126', insideAddress: '169.254.13.237', bgp: { asn: 65401, holdTime: 30 } },
      insideCidr: '169.254.13.236/30',
    });
    expect(t1.psk.reveal()).toBe('QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV');
    expect(t2.psk.reveal()).toBe('tYrysT4iT0.CRwQnhiBbng.BahDc7YPq');
  });

  it('batfish BGP to a transit gateway: empty vpn_gateway_id', () => {
    const c = load('sample-batfish-bgp-tgw.xml');
    expect(c).toMatchObject({ connectionId: 'vpn-034885b776a3f8a80', customerGatewayId: 'cgw-09e5ca92b2f2d71cc', vpnGatewayId: null, target: 'tgw', routing: 'bgp' });
    expect(c.tunnels.map((t) => [t.aws.outsideAddress, t.insideCidr, t.customer.bgp?.asn, t.aws.bgp?.asn])).toEqual([
      ['3.130.56.250', '169.254.195.140/30', 65000, 64512],
      ['3.133.183.196', '169.254.70.160/30', 65000, 64512],
    ]);
    expect(c.tunnels.every((t) => t.customer.outsideAddress === '2.2.2.2')).toBe(true);
  });

  it('batfish static routing: NoBGPVPNConnection and no BGP', () => {
    const c = load('sample-batfish-static-vgw.xml');
    expect(c).toMatchObject({ connectionId: 'vpn-05044757278685fd3', vpnGatewayId: 'vgw-070087240d6fa2989', target: 'vgw', routing: 'static' });
    for (const t of c.tunnels) {
      expect(t.customer.bgp).toBeUndefined();
      expect(t.aws.bgp).toBeUndefined();
    }
    expect(c.tunnels.map((t) => [t.customer.insideAddress, t.aws.insideAddress, t.aws.outsideAddress])).toEqual([
      ['169.254.58.234', '169.254.58.233', '3.13.210.90'],
      ['169.254.58.222', '169.254.58.221', '18.221.157.90'],
    ]);
  });

  it('CloudWanderer BGP sample with sanitised addresses (both AWS ends 1.1.1.1)', () => {
    const c = load('sample-cloudwanderer-bgp-vgw.xml');
    expect(c).toMatchObject({ connectionId: 'vpn-11111111', customerGatewayId: 'cgw-11111111111111111', target: 'vgw', routing: 'bgp' });
    expect(c.tunnels.map((t) => [t.insideCidr, t.customer.bgp?.asn, t.aws.bgp?.asn])).toEqual([
      ['169.254.80.144/30', 65000, 64512],
      ['169.254.172.84/30', 65000, 64512],
    ]);
  });

  it('the XML minimum settings and AWS defaults, with their origins', () => {
    const t = load('sample-batfish-bgp-vgw.xml').tunnels[0];
    expect(t.ike).toEqual({
      versions: ['ikev1', 'ikev2'],
      encryption: ['aes128-cbc'],
      integrity: ['hmac-sha1-96'],
      dhGroups: [2],
      lifetimeSeconds: 28800,
      mode: 'main',
    });
    expect(t.ipsec).toEqual({
      encryption: ['aes128-cbc'],
      integrity: ['hmac-sha1-96'],
      pfsGroups: [2],
      lifetimeSeconds: 3600,
      rekeyMarginSeconds: 270,
      rekeyFuzzPercent: 100,
      replayWindow: 1024,
      mode: 'tunnel',
      clearDf: true,
      fragmentBeforeEncryption: true,
      tcpMss: 1379,
    });
    expect(t.dpd).toEqual({ intervalSeconds: 10, retries: 3, timeoutSeconds: 30, action: 'clear' });
    expect(t.startupAction).toBe('add');
    expect(t.explicit['ike.encryption']).toBe('xml');
    expect(t.explicit['ike.versions']).toBe('default');
    expect(t.explicit['ipsec.replayWindow']).toBe('default');
    expect(Object.values(t.explicit)).not.toContain('tunnel-options');
  });
});
