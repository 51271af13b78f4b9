/**
 * One failing input per validation rule, each asserting the exact element path
 * (or JSON path, or settings key/flag) and the rule id; and a check that every
 * rule in RULES has at least one case here.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadConfig,
  MAX_INPUT_BYTES,
  parseConfig,
  resolveSettings,
  RULES,
  type SettingsFlags,
  type VpnConfig,
} from '../../../src/config/index.js';
import { expectProblem, readFixture, readSample, replaceNth } from './helpers.js';
import { describeWith, TO, tunnelOptions, twoConnectionsDescribe } from './json-fixture.js';

const BGP = readSample('sample-batfish-bgp-vgw.xml');
const STATIC = readSample('sample-batfish-static-vgw.xml');
const T1 = 'ipsec_tunnel[1]';
const T2 = 'ipsec_tunnel[2]';

/** An edit of the BGP sample: replace the n-th occurrence of `from` with `to`. */
const bgp = (from: string, to: string, n = 1) => (): string => replaceNth(BGP, from, to, n);

interface ConfigCase {
  rule: string;
  name: string;
  input: () => string;
  connection?: string;
  path: string;
}

const configCases: ConfigCase[] = [
  // input and document
  { rule: 'input-size', name: 'more than 1 MiB', input: () => `<vpn_connection>${' '.repeat(MAX_INPUT_BYTES)}</vpn_connection>`, path: 'document' },
  { rule: 'input-format', name: 'neither XML nor JSON', input: () => 'Amazon Web Services\nVirtual Private Cloud\n', path: 'document' },
  { rule: 'input-format', name: 'empty file', input: () => '  \n', path: 'document' },
  { rule: 'xml-well-formed', name: 'unclosed element', input: bgp('</ike>', ''), path: 'document' },
  { rule: 'xml-no-doctype', name: 'billion laughs', input: () => readFixture('billion-laughs.xml'), path: 'document' },
  { rule: 'xml-no-doctype', name: 'lowercase doctype with an external entity', input: () => `<!doctype x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${BGP}`, path: 'document' },
  { rule: 'xml-root', name: 'wrong root element', input: () => '<?xml version="1.0"?><vpn_connections/>', path: 'document' },
  { rule: 'xml-root', name: 'two root elements', input: () => `${BGP}<vpn_connection id="vpn-12345678"/>`, path: 'document' },
  { rule: 'json-well-formed', name: 'truncated JSON', input: () => '{"VpnConnections": [', path: 'document' },
  { rule: 'json-shape', name: 'not describe-vpn-connections output', input: () => '{"Reservations": []}', path: 'document' },
  { rule: 'json-shape', name: 'TunnelOptions not a list', input: () => describeWith((d) => ((d.VpnConnections[0] as { Options: unknown }).Options = { TunnelOptions: {} })), path: TO },
  { rule: 'connection-select', name: 'several connections, no --connection', input: () => JSON.stringify(twoConnectionsDescribe()), path: 'VpnConnections' },
  { rule: 'connection-select', name: 'unknown --connection', input: () => JSON.stringify(twoConnectionsDescribe()), connection: 'vpn-99999999', path: '--connection' },
  { rule: 'connection-select', name: '--connection differs from the XML id', input: () => BGP, connection: 'vpn-99999999', path: '--connection' },
  { rule: 'json-xml-mismatch', name: 'VpnConnectionId differs from vpn_connection/@id', input: () => describeWith((d) => (d.VpnConnections[0]!.VpnConnectionId = 'vpn-aaaaaaaa')), path: 'VpnConnections[0].VpnConnectionId' },
  { rule: 'json-xml-mismatch', name: 'PreSharedKey differs from the XML', input: () => describeWith((d) => (tunnelOptions(d, 1).PreSharedKey = 'DifferentKey12345')), path: `${TO}[1].PreSharedKey` },
  { rule: 'json-xml-mismatch', name: 'TunnelInsideCidr differs from the XML', input: () => describeWith((d) => (tunnelOptions(d, 0).TunnelInsideCidr = '169.254.99.0/30')), path: `${TO}[0].TunnelInsideCidr` },
  { rule: 'json-xml-mismatch', name: 'StaticRoutesOnly true for a BGP XML', input: () => describeWith((d) => (d.VpnConnections[0]!.Options.StaticRoutesOnly = true)), path: 'VpnConnections[0].Options.StaticRoutesOnly' },
  // element structure
  { rule: 'required', name: 'missing pre_shared_key', input: bgp('<pre_shared_key>QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV</pre_shared_key>', ''), path: `${T1}/ike/pre_shared_key` },
  { rule: 'required', name: 'missing @id', input: bgp('<vpn_connection id="vpn-ba2e34a8">', '<vpn_connection>'), path: 'vpn_connection/@id' },
  { rule: 'required', name: 'CustomerGatewayConfiguration missing (deleted connection)', input: () => describeWith((d) => delete (d.VpnConnections[0] as { CustomerGatewayConfiguration?: string }).CustomerGatewayConfiguration), path: 'VpnConnections[0].CustomerGatewayConfiguration' },
  { rule: 'single-element', name: 'mode given twice', input: bgp('<mode>main</mode>', '<mode>main</mode><mode>main</mode>'), path: `${T1}/ike/mode` },
  { rule: 'text-value', name: 'element instead of text', input: bgp('<lifetime>28800</lifetime>', '<lifetime><seconds>28800</seconds></lifetime>'), path: `${T1}/ike/lifetime` },
  { rule: 'tunnel-count', name: 'one ipsec_tunnel', input: () => BGP.slice(0, BGP.lastIndexOf('<ipsec_tunnel>')) + '</vpn_connection>', path: 'ipsec_tunnel' },
  { rule: 'tunnel-count', name: 'three ipsec_tunnel', input: () => { const t = BGP.slice(BGP.indexOf('<ipsec_tunnel>'), BGP.indexOf('</ipsec_tunnel>') + 15); return BGP.replace('</vpn_connection>', `${t}</vpn_connection>`); }, path: 'ipsec_tunnel' },
  // identity
  { rule: 'id-format', name: 'customer gateway id without prefix', input: bgp('cgw-fb76ace5', 'gw-fb76ace5'), path: 'customer_gateway_id' },
  { rule: 'id-format', name: 'entities are not expanded', input: bgp('cgw-fb76ace5', 'cgw-&amp;'), path: 'customer_gateway_id' },
  { rule: 'connection-type', name: 'not ipsec.1', input: bgp('ipsec.1', 'ipsec.2'), path: 'vpn_connection_type' },
  { rule: 'connection-attributes', name: 'unknown attribute', input: bgp('</vpn_connection_type>', '</vpn_connection_type><vpn_connection_attributes>Accelerated</vpn_connection_attributes>'), path: 'vpn_connection_attributes' },
  // addresses
  { rule: 'ipv4-address', name: 'octet above 255', input: bgp('52.39.121.126', '52.39.121.256'), path: `${T2}/vpn_gateway/tunnel_outside_address/ip_address` },
  { rule: 'ipv4-address', name: 'IPv6 outside address', input: bgp('52.27.166.152', '2001:db8::1'), path: `${T1}/vpn_gateway/tunnel_outside_address/ip_address` },
  { rule: 'outside-address-unicast', name: 'multicast customer address', input: bgp('147.75.69.27', '224.0.0.5'), path: `${T1}/customer_gateway/tunnel_outside_address/ip_address` },
  { rule: 'customer-outside-consistent', name: 'tunnels end at different customer addresses', input: bgp('147.75.69.27', '147.75.69.28', 2), path: `${T2}/customer_gateway/tunnel_outside_address/ip_address` },
  { rule: 'inside-mask-cidr', name: 'mask and cidr disagree', input: bgp('<network_mask>255.255.255.252</network_mask>', '<network_mask>255.255.255.0</network_mask>'), path: `${T1}/customer_gateway/tunnel_inside_address/network_cidr` },
  { rule: 'inside-mask-cidr', name: 'non-contiguous mask', input: bgp('<network_mask>255.255.255.252</network_mask>', '<network_mask>255.0.255.0</network_mask>', 2), path: `${T1}/vpn_gateway/tunnel_inside_address/network_mask` },
  { rule: 'inside-prefix-30', name: 'a /29', input: () => replaceNth(replaceNth(BGP, '255.255.255.252', '255.255.255.248'), '<network_cidr>30<', '<network_cidr>29<'), path: `${T1}/customer_gateway/tunnel_inside_address/network_cidr` },
  { rule: 'inside-link-local', name: 'inside /30 outside 169.254.0.0/16', input: () => replaceNth(replaceNth(BGP, '169.254.15.194', '10.0.15.194'), '169.254.15.193', '10.0.15.193'), path: `${T1}/customer_gateway/tunnel_inside_address/ip_address` },
  { rule: 'inside-reserved', name: '169.254.169.252/30', input: () => replaceNth(replaceNth(BGP, '169.254.15.194', '169.254.169.254'), '169.254.15.193', '169.254.169.253'), path: `${T1}/customer_gateway/tunnel_inside_address/ip_address` },
  { rule: 'inside-reserved', name: '169.254.3.0/30', input: () => replaceNth(replaceNth(BGP, '169.254.13.238', '169.254.3.2'), '169.254.13.237', '169.254.3.1'), path: `${T2}/customer_gateway/tunnel_inside_address/ip_address` },
  { rule: 'inside-aws-address', name: 'AWS end is not network+1', input: bgp('169.254.15.193', '169.254.15.195'), path: `${T1}/vpn_gateway/tunnel_inside_address/ip_address` },
  { rule: 'inside-customer-address', name: 'ends swapped', input: () => replaceNth(replaceNth(BGP, '169.254.15.194', 'X'), '169.254.15.193', '169.254.15.194').replace('X', '169.254.15.193'), path: `${T1}/customer_gateway/tunnel_inside_address/ip_address` },
  { rule: 'inside-distinct', name: 'both tunnels in one /30', input: () => replaceNth(replaceNth(BGP, '169.254.13.238', '169.254.15.194'), '169.254.13.237', '169.254.15.193'), path: `${T2}/customer_gateway/tunnel_inside_address/ip_address` },
  { rule: 'inside-ipv6', name: 'malformed inside IPv6', input: bgp('</tunnel_inside_address>', '</tunnel_inside_address><tunnel_inside_ipv6_address><ip_address>fd00::1::2</ip_address><prefix_length>128</prefix_length></tunnel_inside_ipv6_address>'), path: `${T1}/customer_gateway/tunnel_inside_ipv6_address/ip_address` },
  { rule: 'inside-ipv6', name: 'TunnelInsideIpv6Cidr not a /126', input: () => describeWith((d) => (tunnelOptions(d, 0).TunnelInsideIpv6Cidr = 'fd00::/64')), path: `${TO}[0].TunnelInsideIpv6Cidr` },
  // pre-shared key
  { rule: 'psk-length', name: 'seven characters', input: bgp('QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV', 'QMP5tKP'), path: `${T1}/ike/pre_shared_key` },
  { rule: 'psk-length', name: '65 characters', input: bgp('QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV', 'a'.repeat(65)), path: `${T1}/ike/pre_shared_key` },
  { rule: 'psk-charset', name: 'a dash', input: bgp('QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV', 'QMP5tKPP5qk95Y1Eee9c_82-MofNUJQV'), path: `${T1}/ike/pre_shared_key` },
  { rule: 'psk-leading-zero', name: 'starts with 0', input: bgp('tYrysT4iT0.CRwQnhiBbng.BahDc7YPq', '0YrysT4iT0.CRwQnhiBbng.BahDc7YPq'), path: `${T2}/ike/pre_shared_key` },
  { rule: 'psk-leading-zero', name: 'JSON PreSharedKey starts with 0', input: () => describeWith((d) => (tunnelOptions(d, 0).PreSharedKey = '0YrysT4iT0.CRwQnhiBbng.BahDc7YPq')), path: `${TO}[0].PreSharedKey` },
  // BGP
  { rule: 'bgp-presence', name: 'BGP connection without customer <bgp>', input: bgp('<bgp>\n        <asn>65301</asn>\n        <hold_time>30</hold_time>\n      </bgp>', ''), path: `${T1}/customer_gateway/bgp` },
  { rule: 'bgp-presence', name: 'static connection with <bgp>', input: () => replaceNth(STATIC, '</tunnel_inside_address>\n    </vpn_gateway>', '</tunnel_inside_address><bgp><asn>64512</asn><hold_time>30</hold_time></bgp></vpn_gateway>', 2), path: `${T2}/vpn_gateway/bgp` },
  { rule: 'asn-customer', name: 'AS_TRANS', input: bgp('<asn>65301</asn>', '<asn>23456</asn>'), path: `${T1}/customer_gateway/bgp/asn` },
  { rule: 'asn-customer', name: 'ASN 0', input: bgp('<asn>65301</asn>', '<asn>0</asn>', 2), path: `${T2}/customer_gateway/bgp/asn` },
  { rule: 'asn-customer', name: 'beyond 32 bits', input: bgp('<asn>65301</asn>', '<asn>4294967296</asn>'), path: `${T1}/customer_gateway/bgp/asn` },
  { rule: 'asn-amazon', name: 'public 16-bit ASN', input: bgp('<asn>65401</asn>', '<asn>100</asn>'), path: `${T1}/vpn_gateway/bgp/asn` },
  { rule: 'asn-amazon', name: '65535', input: bgp('<asn>65401</asn>', '<asn>65535</asn>'), path: `${T1}/vpn_gateway/bgp/asn` },
  { rule: 'asn-distinct', name: 'same ASN on both sides', input: bgp('<asn>65301</asn>', '<asn>65401</asn>'), path: `${T1}/customer_gateway/bgp/asn` },
  { rule: 'hold-time', name: 'hold time 2', input: bgp('<hold_time>30</hold_time>', '<hold_time>2</hold_time>'), path: `${T1}/customer_gateway/bgp/hold_time` },
  { rule: 'hold-time', name: 'hold time above 65535', input: bgp('<hold_time>30</hold_time>', '<hold_time>70000</hold_time>', 2), path: `${T1}/vpn_gateway/bgp/hold_time` },
  // algorithms and versions
  { rule: 'algorithm-known', name: '3DES in the XML', input: bgp('aes-128-cbc', '3des-cbc'), path: `${T1}/ike/encryption_protocol` },
  { rule: 'algorithm-known', name: 'MD5 in TunnelOptions', input: () => describeWith((d) => (tunnelOptions(d, 0).Phase2IntegrityAlgorithms = [{ Value: 'MD5' }])), path: `${TO}[0].Phase2IntegrityAlgorithms[0].Value` },
  { rule: 'algorithm-known', name: 'DH group 1 in TunnelOptions', input: () => describeWith((d) => (tunnelOptions(d, 1).Phase2DHGroupNumbers = [{ Value: 14 }, { Value: 1 }])), path: `${TO}[1].Phase2DHGroupNumbers[1].Value` },
  { rule: 'dh-group-phase1', name: 'group5 for IKE in the XML', input: bgp('<perfect_forward_secrecy>group2</perfect_forward_secrecy>', '<perfect_forward_secrecy>group5</perfect_forward_secrecy>'), path: `${T1}/ike/perfect_forward_secrecy` },
  { rule: 'dh-group-phase1', name: 'group 5 in Phase1DHGroupNumbers', input: () => describeWith((d) => (tunnelOptions(d, 1).Phase1DHGroupNumbers = [{ Value: 5 }])), path: `${TO}[1].Phase1DHGroupNumbers[0].Value` },
  { rule: 'list-non-empty', name: 'empty algorithm list', input: () => describeWith((d) => (tunnelOptions(d, 0).Phase1EncryptionAlgorithms = [])), path: `${TO}[0].Phase1EncryptionAlgorithms` },
  { rule: 'ike-versions', name: 'unknown IKE version', input: () => describeWith((d) => (tunnelOptions(d, 0).IkeVersions = [{ Value: 'ikev3' }])), path: `${TO}[0].IkeVersions[0].Value` },
  { rule: 'list-non-empty', name: 'empty IKE version list', input: () => describeWith((d) => (tunnelOptions(d, 0).IkeVersions = [])), path: `${TO}[0].IkeVersions` },
  // numbers and enumerations
  { rule: 'integer', name: 'lifetime with a unit', input: bgp('<lifetime>28800</lifetime>', '<lifetime>28800s</lifetime>'), path: `${T1}/ike/lifetime` },
  { rule: 'integer', name: 'JSON lifetime as text', input: () => describeWith((d) => (tunnelOptions(d, 0).Phase1LifetimeSeconds = '14400')), path: `${TO}[0].Phase1LifetimeSeconds` },
  { rule: 'boolean', name: 'clear_df_bit yes', input: bgp('<clear_df_bit>true</clear_df_bit>', '<clear_df_bit>yes</clear_df_bit>'), path: `${T1}/ipsec/clear_df_bit` },
  { rule: 'phase1-lifetime', name: 'above 28800', input: bgp('<lifetime>28800</lifetime>', '<lifetime>30000</lifetime>'), path: `${T1}/ike/lifetime` },
  { rule: 'phase1-lifetime', name: 'TunnelOptions below 900', input: () => describeWith((d) => (tunnelOptions(d, 0).Phase1LifetimeSeconds = 600)), path: `${TO}[0].Phase1LifetimeSeconds` },
  { rule: 'phase2-lifetime', name: 'below 900', input: bgp('<lifetime>3600</lifetime>', '<lifetime>600</lifetime>'), path: `${T1}/ipsec/lifetime` },
  { rule: 'phase2-below-phase1', name: 'phase 1 equal to phase 2', input: bgp('<lifetime>28800</lifetime>', '<lifetime>3600</lifetime>'), path: `${T1}/ipsec/lifetime` },
  { rule: 'phase2-below-phase1', name: 'TunnelOptions phase 2 not below phase 1', input: () => describeWith((d) => (tunnelOptions(d, 0).Phase1LifetimeSeconds = 1800)), path: `${TO}[0].Phase2LifetimeSeconds` },
  { rule: 'rekey-margin', name: 'margin above half of phase 2', input: () => describeWith((d) => (tunnelOptions(d, 0).RekeyMarginTimeSeconds = 901)), path: `${TO}[0].RekeyMarginTimeSeconds` },
  { rule: 'rekey-margin', name: 'margin below 60', input: () => describeWith((d) => (tunnelOptions(d, 1).RekeyMarginTimeSeconds = 59)), path: `${TO}[1].RekeyMarginTimeSeconds` },
  { rule: 'rekey-fuzz', name: 'fuzz 101', input: () => describeWith((d) => (tunnelOptions(d, 0).RekeyFuzzPercentage = 101)), path: `${TO}[0].RekeyFuzzPercentage` },
  { rule: 'replay-window', name: 'window 32', input: () => describeWith((d) => (tunnelOptions(d, 0).ReplayWindowSize = 32)), path: `${TO}[0].ReplayWindowSize` },
  { rule: 'replay-window', name: 'window 4096', input: () => describeWith((d) => (tunnelOptions(d, 1).ReplayWindowSize = 4096)), path: `${TO}[1].ReplayWindowSize` },
  { rule: 'dpd-timeout', name: 'DPD timeout 20', input: () => describeWith((d) => (tunnelOptions(d, 0).DpdTimeoutSeconds = 20)), path: `${TO}[0].DpdTimeoutSeconds` },
  { rule: 'dpd-interval', name: 'interval 0', input: bgp('<interval>10</interval>', '<interval>0</interval>'), path: `${T1}/ipsec/dead_peer_detection/interval` },
  { rule: 'dpd-retries', name: 'retries 0', input: bgp('<retries>3</retries>', '<retries>0</retries>', 2), path: `${T2}/ipsec/dead_peer_detection/retries` },
  { rule: 'tcp-mss', name: 'MSS 9000', input: bgp('<tcp_mss_adjustment>1379</tcp_mss_adjustment>', '<tcp_mss_adjustment>9000</tcp_mss_adjustment>'), path: `${T1}/ipsec/tcp_mss_adjustment` },
  { rule: 'tcp-mss', name: 'MSS 500', input: bgp('<tcp_mss_adjustment>1379</tcp_mss_adjustment>', '<tcp_mss_adjustment>500</tcp_mss_adjustment>'), path: `${T1}/ipsec/tcp_mss_adjustment` },
  { rule: 'ike-mode', name: 'aggressive mode', input: bgp('<mode>main</mode>', '<mode>aggressive</mode>'), path: `${T1}/ike/mode` },
  { rule: 'ipsec-protocol', name: 'AH', input: bgp('<protocol>esp</protocol>', '<protocol>ah</protocol>'), path: `${T1}/ipsec/protocol` },
  { rule: 'ipsec-mode', name: 'transport mode', input: bgp('<mode>tunnel</mode>', '<mode>transport</mode>'), path: `${T1}/ipsec/mode` },
  { rule: 'dpd-action', name: 'unknown DPD action', input: () => describeWith((d) => (tunnelOptions(d, 0).DpdTimeoutAction = 'reboot')), path: `${TO}[0].DpdTimeoutAction` },
  { rule: 'startup-action', name: 'unknown startup action', input: () => describeWith((d) => (tunnelOptions(d, 0).StartupAction = 'begin')), path: `${TO}[0].StartupAction` },
  { rule: 'startup-start-needs-ikev2', name: 'start with IKEv1 only', input: () => describeWith((d) => (tunnelOptions(d, 0).IkeVersions = [{ Value: 'ikev1' }])), path: `${TO}[0].StartupAction` },
  // TunnelOptions ↔ XML tunnels
  { rule: 'tunnel-options-unmatched', name: 'outside address not in the XML', input: () => describeWith((d) => (tunnelOptions(d, 0).OutsideIpAddress = '52.39.121.127')), path: `${TO}[0].OutsideIpAddress` },
  { rule: 'required', name: 'entry without OutsideIpAddress', input: () => describeWith((d) => delete tunnelOptions(d, 1).OutsideIpAddress), path: `${TO}[1].OutsideIpAddress` },
  { rule: 'tunnel-options-duplicate', name: 'two entries for one tunnel', input: () => describeWith((d) => { tunnelOptions(d, 0).OutsideIpAddress = '52.27.166.152'; delete tunnelOptions(d, 0).TunnelInsideCidr; delete tunnelOptions(d, 0).PreSharedKey; }), path: `${TO}[1].OutsideIpAddress` },
  {
    rule: 'tunnel-options-ambiguous',
    name: 'both XML tunnels have the same AWS outside address',
    input: () => JSON.stringify({ VpnConnectionId: 'vpn-11111111', CustomerGatewayConfiguration: readSample('sample-cloudwanderer-bgp-vgw.xml'), Options: { TunnelOptions: [{ OutsideIpAddress: '1.1.1.1' }] } }),
    path: 'Options.TunnelOptions[0].OutsideIpAddress',
  },
];

interface SettingsCase {
  rule: string;
  name: string;
  config?: () => VpnConfig;
  file?: unknown;
  flags?: SettingsFlags;
  path: string;
}

const bgpConfig = (): VpnConfig => parseConfig(BGP);
const staticIkev1Config = (): VpnConfig => parseConfig(JSON.stringify(twoConnectionsDescribe()), { connectionId: 'vpn-05044757278685fd3' });
const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`);

const settingsCases: SettingsCase[] = [
  { rule: 'json-well-formed', name: 'settings file not JSON', file: '{"advertise": [', path: 'settings file' },
  { rule: 'settings-type', name: 'settings file is a list', file: [], path: 'settings file' },
  { rule: 'settings-unknown', name: 'misspelt key', file: { advertize: ['10.0.0.0/8'] }, path: 'advertize' },
  { rule: 'settings-unknown', name: 'unknown nested key', file: { keepalive: { interval: 5 } }, path: 'keepalive.interval' },
  { rule: 'settings-type', name: 'advertise as a string', file: { advertise: '10.0.0.0/8' }, path: 'advertise' },
  { rule: 'settings-type', name: 'three interfaces', file: { interfaces: ['a', 'b', 'c'] }, path: 'interfaces' },
  { rule: 'cidr', name: 'prefix length 33', file: { advertise: ['10.0.0.0/8', '10.0.0.0/33'] }, path: 'advertise[1]' },
  { rule: 'cidr', name: 'flag without prefix length', flags: { advertise: ['10.0.0.0'] }, path: '--advertise' },
  { rule: 'cidr-network', name: 'host bits set', file: { advertise: ['10.0.0.1/16'] }, path: 'advertise[0]' },
  { rule: 'prefix-duplicate', name: 'listed twice', file: { advertise: ['10.0.0.0/16', '10.0.0.0/16'] }, path: 'advertise[1]' },
  { rule: 'advertise-limit', name: '101 prefixes toward a VGW', file: { advertise: many(101) }, path: 'advertise' },
  { rule: 'advertise-needs-bgp', name: 'advertise on a static connection', config: () => parseConfig(STATIC), flags: { advertise: ['10.0.0.0/16'] }, path: '--advertise' },
  { rule: 'static-routes-need-static', name: 'static routes on a BGP connection', file: { staticRoutes: ['172.31.0.0/16'] }, path: 'staticRoutes' },
  { rule: 'ifname', name: 'interface name of 16 characters', file: { interfaces: ['cgw-tunnel-one-1', 'cgw-t2'] }, path: 'interfaces[0]' },
  { rule: 'ifname', name: 'interface name with a slash', flags: { interfaces: ['cgw/1', 'cgw-t2'] }, path: '--interfaces' },
  { rule: 'interfaces-distinct', name: 'same interface twice', file: { interfaces: ['cgw0', 'cgw0'] }, path: 'interfaces[1]' },
  { rule: 'ike-version', name: 'ikev3', file: { ikeVersion: 'ikev3' }, path: 'ikeVersion' },
  { rule: 'ike-version-allowed', name: 'ikev2 where TunnelOptions allow only ikev1', config: staticIkev1Config, flags: { ikeVersion: 'ikev2' }, path: '--ike-version' },
  { rule: 'ipv4-address', name: 'local address is a name', file: { localAddress: 'eth0' }, path: 'localAddress' },
  { rule: 'ipv4-address', name: 'keepalive target is a name', file: { keepalive: { target: 'vpc-host' } }, path: 'keepalive.target' },
  { rule: 'local-id', name: 'identity with a space', file: { localId: 'my gateway' }, path: 'localId' },
  { rule: 'keepalive-interval', name: 'interval 0', file: { keepalive: { intervalSeconds: 0 } }, path: 'keepalive.intervalSeconds' },
  { rule: 'keepalive-interval', name: 'flag not a number', flags: { keepaliveInterval: 'often' }, path: '--keepalive-interval' },
  { rule: 'route-metric', name: 'metric 0 (the connected routes\' metric)', file: { routeMetric: 0 }, path: 'routeMetric' },
  { rule: 'route-metric', name: 'default-route metric past u32', flags: { defaultRouteMetric: '4294967296' }, path: '--default-route-metric' },
  { rule: 'as-path-prepend', name: 'prepend past 10', file: { asPathPrepend: 11 }, path: 'asPathPrepend' },
  { rule: 'as-path-prepend', name: 'prepend flag not a number', flags: { asPathPrepend: 'two' }, path: '--as-path-prepend' },
  { rule: 'dataplane-threads', name: 'three packet threads', file: { dataplaneThreads: 3 }, path: 'dataplaneThreads' },
  { rule: 'dataplane-threads', name: 'zero threads on the command line', flags: { dataplaneThreads: '0' }, path: '--dataplane-threads' },
  { rule: 'dataplane-threads', name: 'threads flag not a number', flags: { dataplaneThreads: 'two' }, path: '--dataplane-threads' },
  { rule: 'dataplane-threads', name: 'fractional threads', file: { dataplaneThreads: 1.5 }, path: 'dataplaneThreads' },
  { rule: 'listen-address', name: 'host name instead of address', file: { metrics: { listen: 'localhost:9580' } }, path: 'metrics.listen' },
  { rule: 'listen-address', name: 'port 70000', flags: { metricsListen: '127.0.0.1:70000' }, path: '--metrics-listen' },
  { rule: 'control-socket', name: 'relative path', file: { controlSocket: 'cgwd.sock' }, path: 'controlSocket' },
  { rule: 'failback', name: 'unknown failback', file: { failback: 'sometimes' }, path: 'failback' },
  { rule: 'ecmp', name: 'ecmp yes instead of on', file: { ecmp: 'yes' }, path: 'ecmp' },
  { rule: 'ecmp-needs-bgp', name: 'ecmp on a static connection', config: () => parseConfig(STATIC), flags: { ecmp: 'on' }, path: '--ecmp' },
];

describe('configuration rules: each failing input names its path and rule', () => {
  it.each(configCases.map((c) => [`${c.rule}: ${c.name}`, c] as const))('%s', (_title, c) => {
    const text = c.input();
    const problem = expectProblem(() => parseConfig(text, c.connection === undefined ? {} : { connectionId: c.connection }), c);
    expect(problem.message.startsWith(`${c.path}: `)).toBe(true);
  });

  it('input-readable: a missing file', () => {
    expectProblem(() => loadConfig('/nonexistent/cgwd/vpn-config.xml'), { path: '/nonexistent/cgwd/vpn-config.xml', rule: 'input-readable' });
  });

  it('input-size: a file over 1 MiB is refused before it is parsed', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cgwd-config-'));
    const file = path.join(dir, 'huge.xml');
    writeFileSync(file, `<vpn_connection>${'x'.repeat(MAX_INPUT_BYTES)}</vpn_connection>`);
    expectProblem(() => loadConfig(file), { path: file, rule: 'input-size' });
  });
});

describe('settings rules: each failing input names its key or flag and rule', () => {
  it.each(settingsCases.map((c) => [`${c.rule}: ${c.name}`, c] as const))('%s', (_title, c) => {
    const config = (c.config ?? bgpConfig)();
    const file = c.file === undefined ? undefined : typeof c.file === 'string' ? c.file : JSON.stringify(c.file);
    const problem = expectProblem(() => resolveSettings(file, c.flags ?? {}, config), c);
    expect(problem.message.startsWith(`${c.path}: `)).toBe(true);
  });
});

it('every rule in RULES has a failing case above', () => {
  const covered = new Set([...configCases, ...settingsCases].map((c) => c.rule));
  covered.add('input-readable');
  expect(RULES.filter((r) => !covered.has(r))).toEqual([]);
});
