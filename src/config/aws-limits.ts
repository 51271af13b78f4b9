/**
 * What AWS Site-to-Site VPN allows and assumes, in one place (User Guide: "Tunnel options
 * for your Site-to-Site VPN connection", "Customer gateway options", "Site-to-Site VPN
 * quotas", "Customer gateway device requirements"). Validation and defaults read these; nothing else hard-codes them.
 */
import type { Ipv4Cidr } from './ipv4.js';
import { parseIpv4Cidr } from './ipv4.js';

export type IkeVersion = 'ikev1' | 'ikev2';
export type DpdTimeoutAction = 'clear' | 'none' | 'restart';
export type StartupAction = 'add' | 'start';

export const IKE_VERSIONS: readonly IkeVersion[] = ['ikev1', 'ikev2'];
export const DPD_TIMEOUT_ACTIONS: readonly DpdTimeoutAction[] = ['clear', 'none', 'restart'];
export const STARTUP_ACTIONS: readonly StartupAction[] = ['add', 'start'];

/** Tunnel options AWS applies when TunnelOptions does not set them (User Guide, "Tunnel options for your Site-to-Site VPN connection"). */
export const AWS_DEFAULTS = {
  ikeVersions: IKE_VERSIONS,
  phase1LifetimeSeconds: 28_800,
  phase2LifetimeSeconds: 3_600,
  /** Current docs and API; before 2023 (and in Terraform) 540. TunnelOptions carries the real value. */
  rekeyMarginSeconds: 270,
  rekeyFuzzPercent: 100,
  replayWindow: 1_024,
  /** UG and CreateVpnConnection say 30; ModifyVpnTunnelOptions says 40. TunnelOptions carries the real value. */
  dpdTimeoutSeconds: 30,
  dpdTimeoutAction: 'clear' as DpdTimeoutAction,
  startupAction: 'add' as StartupAction,
} as const;

export const AWS_RANGES = {
  phase1LifetimeSeconds: { min: 900, max: 28_800 },
  phase2LifetimeSeconds: { min: 900, max: 3_600 },
  /** The maximum is half the phase 2 lifetime. */
  rekeyMarginSeconds: { min: 60 },
  rekeyFuzzPercent: { min: 0, max: 100 },
  replayWindow: { min: 64, max: 2_048 },
  dpdTimeoutSeconds: { min: 30 },
  /** BGP hold time: 0 (no keepalives) or 3..65535 (RFC 4271 §4.2). */
  holdTimeSeconds: { min: 3, max: 65_535 },
  /** TCP MSS clamp: from the IPv4 minimum to what fits a 1500-byte frame (AWS samples: 1379, 1387). */
  tcpMss: { min: 536, max: 1_460 },
  pskLength: { min: 8, max: 64 },
} as const;

export const PSK_CHARSET = /^[A-Za-z0-9._]*$/;

/** Inside tunnel /30s come from link-local space, minus the blocks AWS reserves. */
export const INSIDE_CIDR_POOL: Ipv4Cidr = cidr('169.254.0.0/16');
export const INSIDE_PREFIX_LENGTH = 30;
export const RESERVED_INSIDE_CIDRS: readonly string[] = [
  '169.254.0.0/30', '169.254.1.0/30', '169.254.2.0/30', '169.254.3.0/30',
  '169.254.4.0/30', '169.254.5.0/30', '169.254.169.252/30',
];

/** Most BGP prefixes a customer gateway may advertise (User Guide, "Site-to-Site VPN quotas"); past it AWS
 * resets the session (Cease, maximum number of prefixes reached). */
export const MAX_ADVERTISED_PREFIXES = { vgw: 100, tgw: 1_000 } as const;

/**
 * ASN rules (User Guide, "Customer gateway options" and "Create a virtual private gateway").
 *
 * Customer side: CreateCustomerGateway takes BgpAsn 1–2,147,483,647 or
 * BgpAsnExtended 2,147,483,648–4,294,967,295, so any ASN from 1 to 4,294,967,295
 * is accepted — except 23456 (AS_TRANS, RFC 6793), which no speaker may own.
 * The older "no private ASNs 4,200,000,000–4,294,967,294" remark is not enforced:
 * the current API allows them.
 *
 * Amazon side: a 16-bit private ASN 64512–65534; the legacy VGW defaults 7224,
 * 9059, 10124, 17493 (gateways created before 2018-06-30); or any 4-byte ASN
 * 65536–4,294,967,294 (the UG lists 4-byte ASNs for VGWs, and 4,200,000,000–
 * 4,294,967,294 for private 32-bit ones). Other 16-bit public ASNs, 0, 23456,
 * 65535 and 4,294,967,295 are rejected.
 */
export const AS_TRANS = 23_456;
export const MAX_ASN = 4_294_967_295;
export const LEGACY_AMAZON_ASNS: readonly number[] = [7224, 9059, 10124, 17493];

export function isValidCustomerAsn(asn: number): boolean {
  return Number.isInteger(asn) && asn >= 1 && asn <= MAX_ASN && asn !== AS_TRANS;
}

export function isValidAmazonAsn(asn: number): boolean {
  if (!Number.isInteger(asn)) return false;
  if (asn >= 64_512 && asn <= 65_534) return true;
  if (LEGACY_AMAZON_ASNS.includes(asn)) return true;
  return asn >= 65_536 && asn <= MAX_ASN - 1;
}

function cidr(text: string): Ipv4Cidr {
  const parsed = parseIpv4Cidr(text);
  if (!parsed) throw new Error(`bad built-in CIDR ${text}`);
  return parsed;
}
