/**
 * The emulated-AWS lab's address plan, derived from one AWS configuration file
 * so that the same file drives both ends.
 *
 *   onprem ── cgw ──(NAT optional)── inet ──┬── aws1 (charon: AWS endpoint of tunnel 1) ┐ TUNs moved
 *                                            └── aws2 (charon: AWS endpoint of tunnel 2) ┘ into "aws"
 *                                                 aws (tun1/tun2 with the AWS inside .1, BIRD) ── vpc
 *
 * Outside addresses come from the file and must lie in documentation ranges
 * (RFC 5737), so lab traffic can never be mistaken for traffic to a real host.
 * Transit links and the LAN/VPC prefixes use RFC 2544's benchmarking range and
 * TEST-NET-1; every address lives in a namespace the lab made.
 */
import type { TunnelConfig, VpnConfig } from '../config/model.js';
import { CgwdError } from '../errors.js';

export const NS = {
  cgw: 'cgwd-cgw',
  inet: 'cgwd-inet',
  aws: 'cgwd-aws',
  aws1: 'cgwd-aws1',
  aws2: 'cgwd-aws2',
  vpc: 'cgwd-vpc',
  onprem: 'cgwd-onprem',
} as const;
export const ALL_NAMESPACES: readonly string[] = Object.values(NS);

export interface LabOptions {
  /** Put the customer gateway behind source NAT in `inet`. */
  nat: boolean;
  /** Override the AWS side's IKE SA lifetime (seconds), e.g. short lifetimes for rekey tests. */
  awsIkeLifetime?: number;
  /** Override the AWS side's CHILD SA lifetime (seconds). */
  awsChildLifetime?: number;
  /**
   * Who plays the AWS tunnel endpoints: strongSwan (default: one charon per endpoint),
   * or nothing — `cgwd up --role aws` is started in the AWS router namespace, which
   * then holds both AWS outside addresses itself.
   */
  awsSide?: 'strongswan' | 'cgwd';
  /** More prefixes the AWS router originates besides the VPC (route-safety tests: 0/0, endpoints, martians, many). */
  awsExtraPrefixes?: readonly string[];
}

export interface LabTunnel {
  index: 1 | 2;
  namespace: string;
  /** Name of the moved libipsec TUN in the aws router namespace. */
  awsTun: string;
  awsOutside: string;
  customerOutside: string;
  insideCidr: string;
  awsInside: string;
  customerInside: string;
  /** inet ↔ awsN transit /31: inet side, endpoint side. */
  transit: { inet: string; endpoint: string };
  tunnel: TunnelConfig;
}

export interface LabPlan {
  config: VpnConfig;
  options: LabOptions;
  tunnels: [LabTunnel, LabTunnel];
  customerOutside: string;
  /** inet ↔ cgw transit /31 (inet side, cgw side). Without NAT the cgw also holds its outside address. */
  customerTransit: { inet: string; cgw: string };
  onprem: { prefix: string; router: string; host: string };
  vpc: { prefix: string; linkPrefix: string; router: string; host: string };
  amazonAsn: number | null;
  customerAsn: number | null;
}

const DOCUMENTATION_RANGES: readonly [string, number][] = [
  ['192.0.2.0', 24],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
];

export function ipv4ToInt(address: string): number {
  const parts = address.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function inRange(address: string, [base, bits]: readonly [string, number]): boolean {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4ToInt(address) & mask) >>> 0) === ((ipv4ToInt(base) & mask) >>> 0);
}

export function buildLabPlan(config: VpnConfig, options: LabOptions): LabPlan {
  const outside = [config.tunnels[0].customer.outsideAddress, config.tunnels[1].customer.outsideAddress];
  if (outside[0] !== outside[1]) {
    throw new CgwdError('LAB_PLAN', 'the lab needs one customer outside address for both tunnels');
  }
  const addresses = [outside[0] ?? '', config.tunnels[0].aws.outsideAddress, config.tunnels[1].aws.outsideAddress];
  for (const address of addresses) {
    if (!DOCUMENTATION_RANGES.some((range) => inRange(address, range))) {
      throw new CgwdError(
        'LAB_PLAN',
        `outside address ${address} is not in a documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); ` +
          'the lab only uses such addresses — use configs/lab/vpn-config.xml or a copy of your file with them',
      );
    }
  }
  const tunnel = (t: TunnelConfig, i: 0 | 1): LabTunnel => ({
    index: t.index,
    namespace: i === 0 ? NS.aws1 : NS.aws2,
    awsTun: `tun${i + 1}`,
    awsOutside: t.aws.outsideAddress,
    customerOutside: t.customer.outsideAddress,
    insideCidr: t.insideCidr,
    awsInside: t.aws.insideAddress,
    customerInside: t.customer.insideAddress,
    transit: { inet: `198.18.0.${2 + 2 * i}`, endpoint: `198.18.0.${3 + 2 * i}` },
    tunnel: t,
  });
  return {
    config,
    options,
    tunnels: [tunnel(config.tunnels[0], 0), tunnel(config.tunnels[1], 1)],
    customerOutside: outside[0] ?? '',
    customerTransit: { inet: '198.18.0.0', cgw: '198.18.0.1' },
    onprem: { prefix: '192.0.2.0/24', router: '192.0.2.1', host: '192.0.2.10' },
    vpc: { prefix: '198.19.0.0/16', linkPrefix: '198.19.0.0/24', router: '198.19.0.1', host: '198.19.0.10' },
    amazonAsn: config.tunnels[0].aws.bgp?.asn ?? null,
    customerAsn: config.tunnels[0].customer.bgp?.asn ?? null,
  };
}
