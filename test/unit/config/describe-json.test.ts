import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, resolveSettings } from '../../../src/config/index.js';
import { fixturePath, readSample } from './helpers.js';
import { describeWith, firstConnection, reversedDescribe, tunnelOptions, twoConnectionsDescribe } from './json-fixture.js';

describe('describe-vpn-connections JSON', () => {
  it('matches TunnelOptions to tunnels by AWS outside address, not position (the fixture lists tunnel 2 first)', () => {
    const doc = reversedDescribe();
    expect(tunnelOptions(doc, 0).OutsideIpAddress).toBe('52.39.121.126');

    const config = loadConfig(fixturePath('describe-vpn-connections-reversed.json'));
    expect(config.source).toBe('json');
    const [t1, t2] = config.tunnels;
    // Tunnel order is the XML's.
    expect(t1.aws.outsideAddress).toBe('52.27.166.152');
    expect(t2.aws.outsideAddress).toBe('52.39.121.126');

    // TunnelOptions[1] (52.27.166.152) → XML tunnel 1: algorithm lists pinned, lifetimes left to the XML.
    expect(t1.ike.versions).toEqual(['ikev1', 'ikev2']);
    expect(t1.ike.encryption).toEqual(['aes128-cbc', 'aes256-cbc']);
    expect(t1.ike.integrity).toEqual(['hmac-sha256-128']);
    expect(t1.ike.dhGroups).toEqual([14, 19]);
    expect(t1.ike.lifetimeSeconds).toBe(28800);
    expect(t1.ipsec.encryption).toEqual(['aes128-cbc']);
    expect(t1.ipsec.lifetimeSeconds).toBe(3600);
    expect(t1.startupAction).toBe('add');
    expect(t1.explicit).toMatchObject({
      'ike.encryption': 'tunnel-options',
      'ike.dhGroups': 'tunnel-options',
      'ike.lifetimeSeconds': 'xml',
      'ipsec.encryption': 'xml',
      'ipsec.rekeyMarginSeconds': 'default',
      startupAction: 'default',
    });

    // TunnelOptions[0] (52.39.121.126) → XML tunnel 2: everything pinned.
    expect(t2.ike).toEqual({
      versions: ['ikev2'],
      encryption: ['aes256-gcm16'],
      integrity: ['hmac-sha384-192'],
      dhGroups: [20],
      lifetimeSeconds: 14400,
      mode: 'main',
    });
    expect(t2.ipsec).toMatchObject({
      encryption: ['aes256-gcm16', 'aes128-gcm16'],
      integrity: ['hmac-sha512-256'],
      pfsGroups: [20, 5],
      lifetimeSeconds: 1800,
      rekeyMarginSeconds: 540,
      rekeyFuzzPercent: 50,
      replayWindow: 2048,
      tcpMss: 1379,
    });
    expect(t2.dpd).toEqual({ intervalSeconds: 10, retries: 3, timeoutSeconds: 40, action: 'restart' });
    expect(t2.startupAction).toBe('start');
    expect(t2.explicit['ipsec.replayWindow']).toBe('tunnel-options');
    expect(t2.explicit['dpd.intervalSeconds']).toBe('xml');
    expect(t2.psk.reveal()).toBe('tYrysT4iT0.CRwQnhiBbng.BahDc7YPq');
  });

  it('gives the same addresses, ASNs and keys as the XML alone', () => {
    const fromJson = loadConfig(fixturePath('describe-vpn-connections-reversed.json'));
    const fromXml = parseConfig(readSample('sample-batfish-bgp-vgw.xml'));
    const essentials = (c: typeof fromJson) =>
      c.tunnels.map((t) => ({ customer: t.customer, aws: t.aws, insideCidr: t.insideCidr, psk: t.psk.reveal() }));
    expect(essentials(fromJson)).toEqual(essentials(fromXml));
    expect(fromJson.connectionId).toBe(fromXml.connectionId);
  });

  it('picks one of several connections with --connection', () => {
    const text = JSON.stringify(twoConnectionsDescribe());
    const config = parseConfig(text, { connectionId: 'vpn-05044757278685fd3' });
    expect(config).toMatchObject({ connectionId: 'vpn-05044757278685fd3', routing: 'static', source: 'json' });
    expect(config.tunnels.map((t) => t.ike.versions)).toEqual([['ikev1'], ['ikev1']]);
    expect(resolveSettings(undefined, {}, config).ikeVersion).toBe('ikev1');
  });

  it('lists the connection ids when the choice is ambiguous', () => {
    expect(() => parseConfig(JSON.stringify(twoConnectionsDescribe()))).toThrow(/vpn-ba2e34a8, vpn-05044757278685fd3.*--connection/);
  });

  it('accepts a single VpnConnection object and the create-vpn-connection wrapper', () => {
    const connection = firstConnection(reversedDescribe());
    expect(parseConfig(JSON.stringify(connection)).tunnels[1].ike.lifetimeSeconds).toBe(14400);
    expect(parseConfig(JSON.stringify({ VpnConnection: connection })).tunnels[1].ike.lifetimeSeconds).toBe(14400);
  });

  it('accepts bare list values and the create/modify key spellings', () => {
    const text = describeWith((d) => {
      const t = tunnelOptions(d, 0);
      delete t.IkeVersions;
      delete t.DpdTimeoutSeconds;
      t.IKEVersions = ['ikev2'];
      t.DPDTimeoutSeconds = 35;
      t.Phase1DHGroupNumbers = [21];
    });
    const t2 = parseConfig(text).tunnels[1];
    expect(t2.ike.versions).toEqual(['ikev2']);
    expect(t2.dpd.timeoutSeconds).toBe(35);
    expect(t2.ike.dhGroups).toEqual([21]);
  });

  it('accepts every AWS JSON spelling of every algorithm', () => {
    const all = (values: (string | number)[]) => values.map((Value) => ({ Value }));
    const text = describeWith((d) => {
      const t = tunnelOptions(d, 1);
      t.Phase1EncryptionAlgorithms = all(['AES128', 'AES256', 'AES128-GCM-16', 'AES256-GCM-16']);
      t.Phase2EncryptionAlgorithms = all(['AES128', 'AES256', 'AES128-GCM-16', 'AES256-GCM-16']);
      t.Phase1IntegrityAlgorithms = all(['SHA1', 'SHA2-256', 'SHA2-384', 'SHA2-512']);
      t.Phase2IntegrityAlgorithms = all(['SHA1', 'SHA2-256', 'SHA2-384', 'SHA2-512']);
      t.Phase1DHGroupNumbers = all([2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
      t.Phase2DHGroupNumbers = all([2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    });
    const t1 = parseConfig(text).tunnels[0];
    expect(t1.ike.encryption).toEqual(['aes128-cbc', 'aes256-cbc', 'aes128-gcm16', 'aes256-gcm16']);
    expect(t1.ipsec.integrity).toEqual(['hmac-sha1-96', 'hmac-sha256-128', 'hmac-sha384-192', 'hmac-sha512-256']);
    expect(t1.ike.dhGroups).toHaveLength(12);
    expect(t1.ipsec.pfsGroups).toHaveLength(13);
  });

  it('carries TunnelInsideIpv6Cidr through', () => {
    const text = describeWith((d) => (tunnelOptions(d, 0).TunnelInsideIpv6Cidr = 'fd00:0:0:1::/126'));
    expect(parseConfig(text).tunnels[1].insideIpv6Cidr).toBe('fd00:0:0:1::/126');
  });

  it('reports every problem at once, across XML and TunnelOptions', () => {
    const text = describeWith((d) => {
      tunnelOptions(d, 0).ReplayWindowSize = 1;
      tunnelOptions(d, 1).OutsideIpAddress = '192.0.2.1';
      const c = d.VpnConnections[0]!;
      c.CustomerGatewayConfiguration = c.CustomerGatewayConfiguration.replace('<tcp_mss_adjustment>1379', '<tcp_mss_adjustment>99');
    });
    try {
      parseConfig(text);
      expect.unreachable();
    } catch (error) {
      const rules = (error as { problems: { rule: string }[] }).problems.map((p) => p.rule).sort();
      expect(rules).toEqual(['replay-window', 'tcp-mss', 'tunnel-options-unmatched']);
    }
  });
});

describe('XML extras', () => {
  it('reads IPv6 inside addresses (transit gateway, aws-peer.md §1.7)', () => {
    const ipv6 = '<tunnel_inside_ipv6_address><ip_address>fd00:2001:db8:2:2d1:81ff:fe41:d202</ip_address><prefix_length>128</prefix_length></tunnel_inside_ipv6_address>';
    const xml = readSample('sample-batfish-bgp-tgw.xml').replace('</tunnel_inside_address>', `</tunnel_inside_address>${ipv6}`);
    expect(parseConfig(xml).tunnels[0].customer.insideIpv6).toEqual({ address: 'fd00:2001:db8:2:2d1:81ff:fe41:d202', prefixLength: 128 });
  });

  it('tolerates a byte-order mark, leading blank lines and comments', () => {
    const xml = `\uFEFF\n\n${readSample('sample-batfish-bgp-vgw.xml').replace('<ike>', '<ike><!-- minimum settings -->')}`;
    expect(parseConfig(xml).connectionId).toBe('vpn-ba2e34a8');
  });

  it('reports well-formedness errors at the line of the file, leading blank lines included', () => {
    const broken = readSample('sample-batfish-bgp-vgw.xml').replace('</ike>', '');
    expect(() => parseConfig(broken)).toThrow(/line 58, column 3: Expected closing tag 'ike'/);
    expect(() => parseConfig(`\n\n${broken}`)).toThrow(/line 60, column 3/);
  });

  it('accepts the legacy and 4-byte Amazon ASNs and 4-byte customer ASNs', () => {
    const base = readSample('sample-batfish-bgp-vgw.xml');
    for (const amazon of [7224, 9059, 10124, 17493, 64512, 65534, 65536, 4200000000, 4294967294]) {
      const c = parseConfig(base.replaceAll('<asn>65401</asn>', `<asn>${amazon}</asn>`));
      expect(c.tunnels[0].aws.bgp?.asn).toBe(amazon);
    }
    for (const customer of [1, 65000, 2147483648, 4294967295]) {
      const c = parseConfig(base.replaceAll('<asn>65301</asn>', `<asn>${customer}</asn>`));
      expect(c.tunnels[1].customer.bgp?.asn).toBe(customer);
    }
  });

  it('accepts hold time 0 (no keepalives)', () => {
    const c = parseConfig(readSample('sample-batfish-bgp-vgw.xml').replaceAll('<hold_time>30</hold_time>', '<hold_time>0</hold_time>'));
    expect(c.tunnels[0].customer.bgp?.holdTime).toBe(0);
  });
});
