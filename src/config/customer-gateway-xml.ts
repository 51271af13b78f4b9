/**
 * The CustomerGatewayConfiguration XML (EC2 API `VpnConnection.CustomerGatewayConfiguration`;
 * the element tree is the one in every published sample) → typed values, each
 * with its element path. Checks here are the ones a single element can answer
 * (well-formed address, known algorithm, integer, PSK rules); rules that relate
 * several values, or that apply whichever of XML or TunnelOptions supplied the
 * value, live in build-config.ts.
 */
import { isIPv6 } from 'node:net';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../crypto/transforms.js';
import { INSIDE_PREFIX_LENGTH } from './aws-limits.js';
import { maskToPrefixLength, parseIpv4 } from './ipv4.js';
import type { InsideIpv6 } from './model.js';
import type { ProblemList } from './problems.js';
import type { Secret } from './secret.js';
import { sourced, type Sourced } from './sourced.js';
import {
  quote,
  readBooleanText,
  readChoice,
  readIntegerText,
  readIpv4,
  readPsk,
  xmlDhGroup,
  xmlEncryption,
  xmlIntegrity,
} from './values.js';
import type { XmlElement } from './xml-document.js';

export interface XmlEndpoint {
  readonly path: string;
  outsideAddress?: Sourced<string>;
  insideAddress?: Sourced<string>;
  insideIpv6?: Sourced<InsideIpv6>;
  /** Present when the <bgp> element is; its fields may still be invalid. */
  bgp?: { path: string; asn?: Sourced<number>; holdTime?: Sourced<number> };
}

export interface XmlTunnel {
  readonly path: string;
  readonly position: number;
  customer: XmlEndpoint;
  aws: XmlEndpoint;
  psk?: Sourced<Secret>;
  ike: {
    encryption?: Sourced<EncryptionName[]>;
    integrity?: Sourced<IntegrityName[]>;
    dhGroups?: Sourced<DhGroupNumber[]>;
    lifetimeSeconds?: Sourced<number>;
  };
  ipsec: {
    encryption?: Sourced<EncryptionName[]>;
    integrity?: Sourced<IntegrityName[]>;
    pfsGroups?: Sourced<DhGroupNumber[]>;
    lifetimeSeconds?: Sourced<number>;
    clearDf?: Sourced<boolean>;
    fragmentBeforeEncryption?: Sourced<boolean>;
    tcpMss?: Sourced<number>;
    dpdInterval?: Sourced<number>;
    dpdRetries?: Sourced<number>;
  };
}

export interface XmlConnection {
  connectionId?: Sourced<string>;
  customerGatewayId?: Sourced<string>;
  /** null when <vpn_gateway_id> is empty (transit gateway). */
  vpnGatewayId?: Sourced<string | null>;
  routing?: Sourced<'static' | 'bgp'>;
  tunnels: XmlTunnel[];
}

const NO_BGP = 'NoBGPVPNConnection';

export function readCustomerGatewayXml(root: XmlElement, problems: ProblemList): XmlConnection {
  const connection: XmlConnection = { tunnels: [] };

  const id = root.attribute('id');
  if (id === undefined) problems.add('vpn_connection/@id', 'required', 'required attribute is missing');
  else connection.connectionId = readId(sourced(id, 'vpn_connection/@id', 'xml'), 'vpn', problems);

  const cgwId = root.leaf('customer_gateway_id', problems);
  if (cgwId) connection.customerGatewayId = readId(cgwId, 'cgw', problems);

  const vgwId = root.leaf('vpn_gateway_id', problems);
  if (vgwId) {
    if (vgwId.value === '') connection.vpnGatewayId = sourced(null, vgwId.path, 'xml');
    else {
      const checked = readId(vgwId, 'vgw', problems);
      if (checked) connection.vpnGatewayId = checked;
    }
  }

  const type = root.leaf('vpn_connection_type', problems);
  if (type && type.value !== 'ipsec.1') {
    problems.add(type.path, 'connection-type', `must be "ipsec.1", found ${quote(type.value)}`);
  }

  const attributes = root.leaf('vpn_connection_attributes', problems, false);
  if (attributes === undefined) connection.routing = sourced('bgp', 'vpn_connection_attributes', 'xml');
  else if (attributes.value === NO_BGP) connection.routing = sourced('static', attributes.path, 'xml');
  else {
    problems.add(attributes.path, 'connection-attributes', `only "${NO_BGP}" is known, found ${quote(attributes.value)}`);
  }

  const tunnels = root.all('ipsec_tunnel');
  if (tunnels.length !== 2) {
    problems.add('ipsec_tunnel', 'tunnel-count', `exactly 2 <ipsec_tunnel> elements are required, found ${tunnels.length}`);
  }
  connection.tunnels = tunnels.map((element, i) => readTunnel(element, i + 1, problems));
  return connection;
}

/** AWS ids are the prefix and 8 or 17 hex digits; letters beyond f are tolerated (hand-made lab files use them). */
function readId(raw: Sourced<string>, prefix: string, problems: ProblemList): Sourced<string> | undefined {
  if (!new RegExp(`^${prefix}-[0-9a-z]{1,32}$`).test(raw.value)) {
    problems.add(raw.path, 'id-format', `must look like "${prefix}-" followed by lowercase hex digits, found ${quote(raw.value)}`);
    return undefined;
  }
  return raw;
}

function readTunnel(element: XmlElement, position: number, problems: ProblemList): XmlTunnel {
  const tunnel: XmlTunnel = {
    path: element.path,
    position,
    customer: { path: `${element.path}/customer_gateway` },
    aws: { path: `${element.path}/vpn_gateway` },
    ike: {},
    ipsec: {},
  };
  const customer = element.one('customer_gateway', problems);
  if (customer) tunnel.customer = readEndpoint(customer, problems);
  const aws = element.one('vpn_gateway', problems);
  if (aws) tunnel.aws = readEndpoint(aws, problems);

  const ike = element.one('ike', problems);
  if (ike) {
    const text = (name: string): Sourced<string> | undefined => ike.leaf(name, problems);
    tunnel.ike.integrity = ifPresent(text('authentication_protocol'), (r) => xmlIntegrity(r, problems));
    tunnel.ike.encryption = ifPresent(text('encryption_protocol'), (r) => xmlEncryption(r, problems));
    tunnel.ike.lifetimeSeconds = ifPresent(text('lifetime'), (r) => readIntegerText(r, problems));
    tunnel.ike.dhGroups = ifPresent(text('perfect_forward_secrecy'), (r) => xmlDhGroup(r, 1, problems));
    ifPresent(text('mode'), (r) => readChoice(r, ['main'] as const, 'ike-mode', problems));
    tunnel.psk = ifPresent(text('pre_shared_key'), (r) => readPsk(r, problems));
  }

  const ipsec = element.one('ipsec', problems);
  if (ipsec) {
    const text = (name: string): Sourced<string> | undefined => ipsec.leaf(name, problems);
    ifPresent(text('protocol'), (r) => readChoice(r, ['esp'] as const, 'ipsec-protocol', problems));
    tunnel.ipsec.integrity = ifPresent(text('authentication_protocol'), (r) => xmlIntegrity(r, problems));
    tunnel.ipsec.encryption = ifPresent(text('encryption_protocol'), (r) => xmlEncryption(r, problems));
    tunnel.ipsec.lifetimeSeconds = ifPresent(text('lifetime'), (r) => readIntegerText(r, problems));
    tunnel.ipsec.pfsGroups = ifPresent(text('perfect_forward_secrecy'), (r) => xmlDhGroup(r, 2, problems));
    ifPresent(text('mode'), (r) => readChoice(r, ['tunnel'] as const, 'ipsec-mode', problems));
    tunnel.ipsec.clearDf = ifPresent(text('clear_df_bit'), (r) => readBooleanText(r, problems));
    tunnel.ipsec.fragmentBeforeEncryption = ifPresent(text('fragmentation_before_encryption'), (r) => readBooleanText(r, problems));
    tunnel.ipsec.tcpMss = ifPresent(text('tcp_mss_adjustment'), (r) => readIntegerText(r, problems));
    const dpd = ipsec.one('dead_peer_detection', problems);
    if (dpd) {
      tunnel.ipsec.dpdInterval = ifPresent(dpd.leaf('interval', problems), (r) => readIntegerText(r, problems));
      tunnel.ipsec.dpdRetries = ifPresent(dpd.leaf('retries', problems), (r) => readIntegerText(r, problems));
    }
  }
  return tunnel;
}

function readEndpoint(element: XmlElement, problems: ProblemList): XmlEndpoint {
  const endpoint: XmlEndpoint = { path: element.path };
  const outside = element.one('tunnel_outside_address', problems);
  if (outside) endpoint.outsideAddress = ifPresent(outside.leaf('ip_address', problems), (r) => readIpv4(r, problems));

  const inside = element.one('tunnel_inside_address', problems);
  if (inside) {
    const address = ifPresent(inside.leaf('ip_address', problems), (r) => readIpv4(r, problems));
    const mask = inside.leaf('network_mask', problems);
    const cidr = inside.leaf('network_cidr', problems);
    const prefixOk = mask && cidr ? checkMaskAndPrefix(mask, cidr, problems) : false;
    if (address && prefixOk) endpoint.insideAddress = address;
  }

  const ipv6 = element.one('tunnel_inside_ipv6_address', problems, false);
  if (ipv6) endpoint.insideIpv6 = readInsideIpv6(ipv6, problems);

  const bgp = element.one('bgp', problems, false);
  if (bgp) {
    endpoint.bgp = {
      path: bgp.path,
      asn: ifPresent(bgp.leaf('asn', problems), (r) => readIntegerText(r, problems)),
      holdTime: ifPresent(bgp.leaf('hold_time', problems), (r) => readIntegerText(r, problems)),
    };
  }
  return endpoint;
}

/** network_mask and network_cidr must agree, and AWS inside networks are always /30. */
function checkMaskAndPrefix(mask: Sourced<string>, cidr: Sourced<string>, problems: ProblemList): boolean {
  const maskValue = parseIpv4(mask.value);
  const maskBits = maskValue === undefined ? undefined : maskToPrefixLength(maskValue);
  if (maskBits === undefined) {
    problems.add(mask.path, 'inside-mask-cidr', `must be a contiguous netmask such as 255.255.255.252, found ${quote(mask.value)}`);
    return false;
  }
  const cidrBits = /^[0-9]{1,2}$/.test(cidr.value) ? Number(cidr.value) : undefined;
  if (cidrBits === undefined || cidrBits > 32) {
    problems.add(cidr.path, 'inside-mask-cidr', `must be a prefix length 0–32, found ${quote(cidr.value)}`);
    return false;
  }
  if (maskBits !== cidrBits) {
    problems.add(cidr.path, 'inside-mask-cidr', `/${cidrBits} disagrees with network_mask ${mask.value} (/${maskBits})`);
    return false;
  }
  if (cidrBits !== INSIDE_PREFIX_LENGTH) {
    problems.add(cidr.path, 'inside-prefix-30', `inside tunnel networks are /${INSIDE_PREFIX_LENGTH}, found /${cidrBits}`);
    return false;
  }
  return true;
}

function readInsideIpv6(element: XmlElement, problems: ProblemList): Sourced<InsideIpv6> | undefined {
  const address = element.leaf('ip_address', problems);
  const prefix = element.leaf('prefix_length', problems);
  if (!address || !prefix) return undefined;
  let ok = true;
  if (!isIPv6(address.value)) {
    problems.add(address.path, 'inside-ipv6', `must be an IPv6 address, found ${quote(address.value)}`);
    ok = false;
  }
  const length = /^[0-9]{1,3}$/.test(prefix.value) ? Number(prefix.value) : NaN;
  if (!(length >= 1 && length <= 128)) {
    problems.add(prefix.path, 'inside-ipv6', `must be a prefix length 1–128, found ${quote(prefix.value)}`);
    ok = false;
  }
  return ok ? sourced({ address: address.value, prefixLength: length }, address.path, 'xml') : undefined;
}

function ifPresent<T, U>(raw: T | undefined, read: (raw: T) => U | undefined): U | undefined {
  return raw === undefined ? undefined : read(raw);
}

