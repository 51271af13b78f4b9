/**
 * XML values + TunnelOptions overrides → the effective VpnConfig.
 *
 * Flow: match each TunnelOptions entry to an XML tunnel by the AWS outside
 * address (never by position: neither list keeps a stable order, see README); per tunnel pick every setting
 * from TunnelOptions, else the XML, else the AWS default, remembering which;
 * check the rules that apply to the effective values (ranges, inside /30
 * layout, ASNs, PSK agreement) and the rules across both tunnels; assemble the
 * model only when nothing was found wrong.
 */
import { isIPv6 } from 'node:net';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../crypto/transforms.js';
import {
  AWS_DEFAULTS,
  AWS_RANGES,
  INSIDE_CIDR_POOL,
  INSIDE_PREFIX_LENGTH,
  RESERVED_INSIDE_CIDRS,
  isValidAmazonAsn,
  isValidCustomerAsn,
  type DpdTimeoutAction,
  type IkeVersion,
  type StartupAction,
} from './aws-limits.js';
import type { XmlConnection, XmlEndpoint, XmlTunnel } from './customer-gateway-xml.js';
import type { JsonConnection } from './describe-vpn-connections.js';
import { cidrContains, formatCidr, formatIpv4, isUnicastEndpoint, networkOf, parseIpv4 } from './ipv4.js';
import type { TunnelConfig, TunnelEndpoint, TunnelOrigins, VpnConfig } from './model.js';
import type { ProblemList, Rule } from './problems.js';
import type { Secret } from './secret.js';
import { firstOf, sourced, type Sourced } from './sourced.js';
import type { TunnelOptionsEntry } from './tunnel-options.js';

/** Every setting of one tunnel as it will be used, each possibly missing because its input was invalid. */
interface EffectiveTunnel {
  xml: XmlTunnel;
  insideCidr?: Sourced<string>;
  insideIpv6Cidr?: Sourced<string>;
  psk?: Sourced<Secret>;
  ikeVersions?: Sourced<IkeVersion[]>;
  ikeEncryption?: Sourced<EncryptionName[]>;
  ikeIntegrity?: Sourced<IntegrityName[]>;
  ikeDhGroups?: Sourced<DhGroupNumber[]>;
  ikeLifetime?: Sourced<number>;
  ipsecEncryption?: Sourced<EncryptionName[]>;
  ipsecIntegrity?: Sourced<IntegrityName[]>;
  ipsecPfsGroups?: Sourced<DhGroupNumber[]>;
  ipsecLifetime?: Sourced<number>;
  rekeyMargin?: Sourced<number>;
  rekeyFuzz?: Sourced<number>;
  replayWindow?: Sourced<number>;
  dpdTimeout?: Sourced<number>;
  dpdAction?: Sourced<DpdTimeoutAction>;
  startupAction?: Sourced<StartupAction>;
}

export function buildVpnConfig(
  xml: XmlConnection,
  json: JsonConnection | undefined,
  problems: ProblemList,
): VpnConfig | undefined {
  if (json) checkJsonAgreesWithXml(xml, json, problems);
  const optionsByTunnel = json ? matchTunnelOptions(xml.tunnels, json.tunnelOptions, problems) : new Map<XmlTunnel, TunnelOptionsEntry>();
  const effective = xml.tunnels.map((t) => effectiveTunnel(t, optionsByTunnel.get(t), problems));
  checkAcrossTunnels(xml, effective, problems);
  if (!problems.isEmpty) return undefined;

  const [first, second] = effective;
  if (!first || !second || !xml.connectionId || !xml.customerGatewayId || !xml.vpnGatewayId || !xml.routing) {
    throw new Error('internal: configuration incomplete without a recorded problem');
  }
  return {
    connectionId: xml.connectionId.value,
    customerGatewayId: xml.customerGatewayId.value,
    vpnGatewayId: xml.vpnGatewayId.value,
    target: xml.vpnGatewayId.value === null ? 'tgw' : 'vgw',
    routing: xml.routing.value,
    source: json ? 'json' : 'xml',
    tunnels: [assembleTunnel(first, 1), assembleTunnel(second, 2)],
  };
}

function checkJsonAgreesWithXml(xml: XmlConnection, json: JsonConnection, problems: ProblemList): void {
  const same = (fromJson: Sourced<string> | undefined, fromXml: Sourced<string | null> | undefined, what: string): void => {
    if (fromJson && fromXml && fromXml.value !== null && fromJson.value !== fromXml.value) {
      problems.add(fromJson.path, 'json-xml-mismatch', `${what} ${fromJson.value} differs from ${fromXml.path} (${fromXml.value})`);
    }
  };
  same(json.connectionId, xml.connectionId, 'VPN connection id');
  same(json.customerGatewayId, xml.customerGatewayId, 'customer gateway id');
  same(json.vpnGatewayId, xml.vpnGatewayId, 'virtual private gateway id');
  if (json.staticRoutesOnly && xml.routing && json.staticRoutesOnly.value !== (xml.routing.value === 'static')) {
    const xmlSays = xml.routing.value === 'static' ? 'static routing (NoBGPVPNConnection)' : 'BGP';
    problems.add(json.staticRoutesOnly.path, 'json-xml-mismatch', `is ${json.staticRoutesOnly.value} but the XML describes ${xmlSays}`);
  }
}

/** TunnelOptions ↔ XML tunnel by AWS outside address; each entry must match exactly one tunnel, each tunnel at most one entry. */
function matchTunnelOptions(
  tunnels: readonly XmlTunnel[],
  entries: readonly TunnelOptionsEntry[],
  problems: ProblemList,
): Map<XmlTunnel, TunnelOptionsEntry> {
  const matched = new Map<XmlTunnel, TunnelOptionsEntry>();
  const xmlAddresses = tunnels.map((t) => t.aws.outsideAddress?.value ?? '?').join(', ');
  for (const entry of entries) {
    const outside = entry.outsideAddress;
    if (!outside) {
      problems.add(`${entry.path}.OutsideIpAddress`, 'required', 'is missing; it is how TunnelOptions are matched to <ipsec_tunnel> elements');
      continue;
    }
    const hits = tunnels.filter((t) => t.aws.outsideAddress?.value === outside.value);
    if (hits.length === 0) {
      problems.add(outside.path, 'tunnel-options-unmatched', `${outside.value} matches no <ipsec_tunnel> vpn_gateway outside address (the XML has ${xmlAddresses})`);
    } else if (hits.length > 1) {
      problems.add(outside.path, 'tunnel-options-ambiguous', `${outside.value} is the vpn_gateway outside address of ${hits.length} <ipsec_tunnel> elements, so these options cannot be assigned`);
    } else {
      const tunnel = hits[0] as XmlTunnel;
      const earlier = matched.get(tunnel);
      if (earlier) {
        problems.add(outside.path, 'tunnel-options-duplicate', `${tunnel.path} already has its options from ${earlier.path}`);
      } else {
        matched.set(tunnel, entry);
      }
    }
  }
  return matched;
}

function effectiveTunnel(xml: XmlTunnel, options: TunnelOptionsEntry | undefined, problems: ProblemList): EffectiveTunnel {
  const byDefault = <T>(value: T, jsonName: string): Sourced<T> => sourced(value, `${xml.path} (AWS default ${jsonName})`, 'default');
  const t: EffectiveTunnel = {
    xml,
    insideIpv6Cidr: options?.insideIpv6Cidr,
    psk: xml.psk,
    ikeVersions: firstOf(options?.ikeVersions, byDefault([...AWS_DEFAULTS.ikeVersions], 'IkeVersions')),
    ikeEncryption: firstOf(options?.phase1Encryption, xml.ike.encryption),
    ikeIntegrity: firstOf(options?.phase1Integrity, xml.ike.integrity),
    ikeDhGroups: firstOf(options?.phase1DhGroups, xml.ike.dhGroups),
    ikeLifetime: firstOf(options?.phase1LifetimeSeconds, xml.ike.lifetimeSeconds),
    ipsecEncryption: firstOf(options?.phase2Encryption, xml.ipsec.encryption),
    ipsecIntegrity: firstOf(options?.phase2Integrity, xml.ipsec.integrity),
    ipsecPfsGroups: firstOf(options?.phase2DhGroups, xml.ipsec.pfsGroups),
    ipsecLifetime: firstOf(options?.phase2LifetimeSeconds, xml.ipsec.lifetimeSeconds),
    rekeyMargin: firstOf(options?.rekeyMarginSeconds, byDefault(AWS_DEFAULTS.rekeyMarginSeconds, 'RekeyMarginTimeSeconds')),
    rekeyFuzz: firstOf(options?.rekeyFuzzPercent, byDefault(AWS_DEFAULTS.rekeyFuzzPercent, 'RekeyFuzzPercentage')),
    replayWindow: firstOf(options?.replayWindow, byDefault(AWS_DEFAULTS.replayWindow, 'ReplayWindowSize')),
    dpdTimeout: firstOf(options?.dpdTimeoutSeconds, byDefault(AWS_DEFAULTS.dpdTimeoutSeconds, 'DpdTimeoutSeconds')),
    dpdAction: firstOf(options?.dpdAction, byDefault(AWS_DEFAULTS.dpdTimeoutAction, 'DpdTimeoutAction')),
    startupAction: firstOf(options?.startupAction, byDefault(AWS_DEFAULTS.startupAction, 'StartupAction')),
  };
  t.insideCidr = checkInsideAddresses(xml, problems);
  if (t.insideCidr && options?.insideCidr && options.insideCidr.value !== t.insideCidr.value) {
    problems.add(options.insideCidr.path, 'json-xml-mismatch', `${options.insideCidr.value} differs from the XML's inside addresses (${t.insideCidr.value})`);
  }
  if (options?.insideIpv6Cidr) checkIpv6Cidr(options.insideIpv6Cidr, problems);
  if (xml.psk && options?.psk && !xml.psk.value.equals(options.psk.value)) {
    problems.add(options.psk.path, 'json-xml-mismatch', `differs from ${xml.psk.path}; the two must be the same key`);
  }
  checkOutsideAddress(xml.customer, problems);
  checkOutsideAddress(xml.aws, problems);
  checkBgpValues(xml, problems);
  checkTimersAndWindows(t, problems);
  return t;
}

function checkOutsideAddress(endpoint: XmlEndpoint, problems: ProblemList): void {
  const outside = endpoint.outsideAddress;
  const value = outside ? parseIpv4(outside.value) : undefined;
  if (outside && value !== undefined && !isUnicastEndpoint(value)) {
    problems.add(outside.path, 'outside-address-unicast', `${outside.value} cannot be a tunnel endpoint (unspecified, loopback, multicast or reserved)`);
  }
}

/** Inside /30 layout (User Guide, "Tunnel options", inside tunnel IPv4 CIDR): AWS is network+1, the customer network+2, inside 169.254.0.0/16 and not reserved. */
function checkInsideAddresses(xml: XmlTunnel, problems: ProblemList): Sourced<string> | undefined {
  const customer = xml.customer.insideAddress;
  const aws = xml.aws.insideAddress;
  if (!customer || !aws) return undefined;
  const customerValue = parseIpv4(customer.value) as number;
  const awsValue = parseIpv4(aws.value) as number;
  const network = networkOf(customerValue, INSIDE_PREFIX_LENGTH);
  const cidr = formatCidr(network, INSIDE_PREFIX_LENGTH);
  const before = problems.count;
  if (!cidrContains(INSIDE_CIDR_POOL, network)) {
    problems.add(customer.path, 'inside-link-local', `inside network ${cidr} must lie within 169.254.0.0/16`);
  } else if (RESERVED_INSIDE_CIDRS.includes(cidr)) {
    problems.add(customer.path, 'inside-reserved', `inside network ${cidr} is reserved by AWS (${RESERVED_INSIDE_CIDRS.join(', ')})`);
  }
  if (customerValue !== network + 2) {
    problems.add(customer.path, 'inside-customer-address', `the customer end of ${cidr} must be its second address ${formatIpv4(network + 2)}, found ${customer.value}`);
  }
  if (awsValue !== network + 1) {
    problems.add(aws.path, 'inside-aws-address', `the AWS end of ${cidr} must be its first address ${formatIpv4(network + 1)}, found ${aws.value}`);
  }
  return problems.count === before ? sourced(cidr, customer.path, 'xml') : undefined;
}

function checkIpv6Cidr(cidr: Sourced<string>, problems: ProblemList): void {
  const [address, length, extra] = cidr.value.split('/');
  if (extra !== undefined || address === undefined || !isIPv6(address) || length !== '126') {
    problems.add(cidr.path, 'inside-ipv6', `must be an IPv6 /126 such as fd00:0:0:1::/126, found "${cidr.value}"`);
  }
}

function checkBgpValues(xml: XmlTunnel, problems: ProblemList): void {
  const customer = xml.customer.bgp;
  const aws = xml.aws.bgp;
  if (customer?.asn && !isValidCustomerAsn(customer.asn.value)) {
    problems.add(customer.asn.path, 'asn-customer', `customer gateway ASN must be 1–4294967295 and not 23456 (AS_TRANS), found ${customer.asn.value}`);
  }
  if (aws?.asn && !isValidAmazonAsn(aws.asn.value)) {
    problems.add(
      aws.asn.path,
      'asn-amazon',
      `Amazon-side ASN must be 64512–65534, a legacy VGW default (7224, 9059, 10124, 17493) or a 4-byte ASN 65536–4294967294, found ${aws.asn.value}`,
    );
  }
  if (customer?.asn && aws?.asn && customer.asn.value === aws.asn.value) {
    problems.add(customer.asn.path, 'asn-distinct', `customer ASN ${customer.asn.value} equals the Amazon-side ASN; the BGP session is eBGP and needs two different ASNs`);
  }
  for (const bgp of [customer, aws]) {
    const hold = bgp?.holdTime;
    const { min, max } = AWS_RANGES.holdTimeSeconds;
    if (hold && hold.value !== 0 && (hold.value < min || hold.value > max)) {
      problems.add(hold.path, 'hold-time', `BGP hold time must be 0 or ${min}–${max} seconds, found ${hold.value}`);
    }
  }
}

function checkTimersAndWindows(t: EffectiveTunnel, problems: ProblemList): void {
  const inRange = (v: Sourced<number> | undefined, min: number, max: number | undefined, rule: Rule, what: string): boolean => {
    if (!v) return false;
    if (v.value < min || (max !== undefined && v.value > max)) {
      const range = max === undefined ? `at least ${min}` : `${min}–${max}`;
      problems.add(v.path, rule, `${what} must be ${range}, found ${v.value}`);
      return false;
    }
    return true;
  };
  const r = AWS_RANGES;
  const p1 = inRange(t.ikeLifetime, r.phase1LifetimeSeconds.min, r.phase1LifetimeSeconds.max, 'phase1-lifetime', 'phase 1 (IKE) lifetime in seconds');
  const p2 = inRange(t.ipsecLifetime, r.phase2LifetimeSeconds.min, r.phase2LifetimeSeconds.max, 'phase2-lifetime', 'phase 2 (IPsec) lifetime in seconds');
  if (p1 && p2 && t.ikeLifetime && t.ipsecLifetime && t.ipsecLifetime.value >= t.ikeLifetime.value) {
    problems.add(t.ipsecLifetime.path, 'phase2-below-phase1', `phase 2 lifetime (${t.ipsecLifetime.value} s) must be less than the phase 1 lifetime (${t.ikeLifetime.value} s, ${t.ikeLifetime.path})`);
  }
  if (p2 && t.ipsecLifetime) {
    const maxMargin = Math.floor(t.ipsecLifetime.value / 2);
    inRange(t.rekeyMargin, r.rekeyMarginSeconds.min, maxMargin, 'rekey-margin', `rekey margin in seconds (at most half the phase 2 lifetime ${t.ipsecLifetime.value} s)`);
  }
  inRange(t.rekeyFuzz, r.rekeyFuzzPercent.min, r.rekeyFuzzPercent.max, 'rekey-fuzz', 'rekey fuzz percentage');
  inRange(t.replayWindow, r.replayWindow.min, r.replayWindow.max, 'replay-window', 'replay window size in packets');
  inRange(t.dpdTimeout, r.dpdTimeoutSeconds.min, undefined, 'dpd-timeout', 'DPD timeout in seconds');
  inRange(t.xml.ipsec.dpdInterval, 1, undefined, 'dpd-interval', 'DPD interval in seconds');
  inRange(t.xml.ipsec.dpdRetries, 1, undefined, 'dpd-retries', 'DPD retries');
  inRange(t.xml.ipsec.tcpMss, r.tcpMss.min, r.tcpMss.max, 'tcp-mss', 'TCP MSS adjustment in bytes');
  if (t.startupAction?.value === 'start' && t.ikeVersions && !t.ikeVersions.value.includes('ikev2')) {
    problems.add(t.startupAction.path, 'startup-start-needs-ikev2', `"start" (AWS initiates) works with IKEv2 only, but IkeVersions allows only ${t.ikeVersions.value.join(', ')}`);
  }
}

function checkAcrossTunnels(xml: XmlConnection, tunnels: readonly EffectiveTunnel[], problems: ProblemList): void {
  const [first, second] = tunnels;
  if (first && second) {
    const a = first.xml.customer.outsideAddress;
    const b = second.xml.customer.outsideAddress;
    if (a && b && a.value !== b.value) {
      problems.add(b.path, 'customer-outside-consistent', `${b.value} differs from ${a.path} (${a.value}); both tunnels end at the same customer gateway`);
    }
    if (first.insideCidr && second.insideCidr && first.insideCidr.value === second.insideCidr.value) {
      problems.add(second.insideCidr.path, 'inside-distinct', `inside network ${second.insideCidr.value} is also used by ${first.xml.path}; each tunnel needs its own /30`);
    }
  }
  if (!xml.routing) return;
  for (const t of tunnels) {
    for (const endpoint of [t.xml.customer, t.xml.aws]) {
      if (xml.routing.value === 'static' && endpoint.bgp) {
        problems.add(endpoint.bgp.path, 'bgp-presence', `static-routing connections (NoBGPVPNConnection) carry no <bgp> element`);
      } else if (xml.routing.value === 'bgp' && !endpoint.bgp) {
        problems.add(`${endpoint.path}/bgp`, 'bgp-presence', `is required: without vpn_connection_attributes NoBGPVPNConnection the connection uses BGP`);
      }
    }
  }
}

function assembleTunnel(t: EffectiveTunnel, index: 1 | 2): TunnelConfig {
  const x = t.xml;
  const explicit: TunnelOrigins = {
    insideCidr: need(t.insideCidr).origin,
    psk: need(t.psk).origin,
    'ike.versions': need(t.ikeVersions).origin,
    'ike.encryption': need(t.ikeEncryption).origin,
    'ike.integrity': need(t.ikeIntegrity).origin,
    'ike.dhGroups': need(t.ikeDhGroups).origin,
    'ike.lifetimeSeconds': need(t.ikeLifetime).origin,
    'ipsec.encryption': need(t.ipsecEncryption).origin,
    'ipsec.integrity': need(t.ipsecIntegrity).origin,
    'ipsec.pfsGroups': need(t.ipsecPfsGroups).origin,
    'ipsec.lifetimeSeconds': need(t.ipsecLifetime).origin,
    'ipsec.rekeyMarginSeconds': need(t.rekeyMargin).origin,
    'ipsec.rekeyFuzzPercent': need(t.rekeyFuzz).origin,
    'ipsec.replayWindow': need(t.replayWindow).origin,
    'ipsec.clearDf': need(x.ipsec.clearDf).origin,
    'ipsec.fragmentBeforeEncryption': need(x.ipsec.fragmentBeforeEncryption).origin,
    'ipsec.tcpMss': need(x.ipsec.tcpMss).origin,
    'dpd.intervalSeconds': need(x.ipsec.dpdInterval).origin,
    'dpd.retries': need(x.ipsec.dpdRetries).origin,
    'dpd.timeoutSeconds': need(t.dpdTimeout).origin,
    'dpd.action': need(t.dpdAction).origin,
    startupAction: need(t.startupAction).origin,
  };
  const tunnel: TunnelConfig = {
    index,
    customer: endpoint(x.customer),
    aws: endpoint(x.aws),
    insideCidr: need(t.insideCidr).value,
    psk: need(t.psk).value,
    ike: {
      versions: need(t.ikeVersions).value,
      encryption: need(t.ikeEncryption).value,
      integrity: need(t.ikeIntegrity).value,
      dhGroups: need(t.ikeDhGroups).value,
      lifetimeSeconds: need(t.ikeLifetime).value,
      mode: 'main',
    },
    ipsec: {
      encryption: need(t.ipsecEncryption).value,
      integrity: need(t.ipsecIntegrity).value,
      pfsGroups: need(t.ipsecPfsGroups).value,
      lifetimeSeconds: need(t.ipsecLifetime).value,
      rekeyMarginSeconds: need(t.rekeyMargin).value,
      rekeyFuzzPercent: need(t.rekeyFuzz).value,
      replayWindow: need(t.replayWindow).value,
      mode: 'tunnel',
      clearDf: need(x.ipsec.clearDf).value,
      fragmentBeforeEncryption: need(x.ipsec.fragmentBeforeEncryption).value,
      tcpMss: need(x.ipsec.tcpMss).value,
    },
    dpd: {
      intervalSeconds: need(x.ipsec.dpdInterval).value,
      retries: need(x.ipsec.dpdRetries).value,
      timeoutSeconds: need(t.dpdTimeout).value,
      action: need(t.dpdAction).value,
    },
    startupAction: need(t.startupAction).value,
    explicit,
  };
  if (t.insideIpv6Cidr) tunnel.insideIpv6Cidr = t.insideIpv6Cidr.value;
  return tunnel;
}

function endpoint(x: XmlEndpoint): TunnelEndpoint {
  const result: TunnelEndpoint = {
    outsideAddress: need(x.outsideAddress).value,
    insideAddress: need(x.insideAddress).value,
  };
  if (x.insideIpv6) result.insideIpv6 = x.insideIpv6.value;
  if (x.bgp) result.bgp = { asn: need(x.bgp.asn).value, holdTime: need(x.bgp.holdTime).value };
  return result;
}

/** Values are missing only when a problem was recorded, and assembly runs only when none was. */
function need<T>(value: Sourced<T> | undefined): Sourced<T> {
  if (value === undefined) throw new Error('internal: missing value without a recorded problem');
  return value;
}
