/**
 * Host preflight: what makes this box a router for the site, checked by `cgwd up` and reported by
 * `cgwd validate --host`.
 *
 *  - IPv4 forwarding (net.ipv4.ip_forward): the site's hosts reach the VPC through this box. `cgwd up`
 *    turns it on when it is off and says so (a customer gateway that does not forward is never what
 *    the operator wants); `validate --host` only reports it.
 *  - rp_filter on the tunnel interfaces: AWS may answer on the other tunnel than the one a flow left
 *    by (both tunnels are up, AWS picks its own path back: User Guide, "Site-to-Site VPN routing
 *    options"), and strict reverse-path filtering (RFC 3704 §2.2) would drop those packets. The kernel
 *    uses max(conf/all, conf/IFACE), so cgwd sets each TUN to 2 (loose, RFC 3704 §2.4), which wins over
 *    a strict `all`.
 *  - The underlay MTU toward each AWS outside address: the TUN MTU is derived from it.
 *  - Multipath hashing, when both tunnels are used at once (ECMP): the kernel's default hashes IPv4
 *    flows on addresses only (net.ipv4.fib_multipath_hash_policy=0), so all traffic between two hosts
 *    takes one tunnel. `cgwd up` sets 1 (addresses and ports) when it finds 0, and says so.
 *  - Interface names: a stale interface is deleted at start only if it is a TUN that cgwd marked as its
 *    own (ifalias "cgwd …"); any other interface of that name stops the start.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CgwdError } from '../errors.js';
import { resolveUnderlay } from '../routing/underlay-pins.js';
import { runCommand } from './exec.js';

export const CGWD_IFALIAS_PREFIX = 'cgwd';
const PROC = '/proc/sys/net/ipv4';
const SYS_NET = '/sys/class/net';

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export type CheckLevel = 'ok' | 'warn' | 'fixed' | 'fail';

export interface HostCheck {
  readonly check: 'ip-forward' | 'rp-filter' | 'underlay-mtu' | 'interface' | 'multipath-hash';
  readonly level: CheckLevel;
  readonly message: string;
}

export function ipForwarding(): boolean | undefined {
  const v = readTrimmed(`${PROC}/ip_forward`);
  return v === undefined ? undefined : v === '1';
}

export function enableIpForwarding(): void {
  writeFileSync(`${PROC}/ip_forward`, '1');
}

/** net.ipv4.fib_multipath_hash_policy: 0 = addresses, 1 = addresses and ports, 2/3 = inner/custom. */
export function multipathHashPolicy(): number | undefined {
  const v = Number(readTrimmed(`${PROC}/fib_multipath_hash_policy`));
  return Number.isInteger(v) ? v : undefined;
}

/** Flows spread by ports too, so one pair of hosts can use both tunnels. */
export function enableLayer4MultipathHash(): void {
  writeFileSync(`${PROC}/fib_multipath_hash_policy`, '1');
}

/** Effective rp_filter of an interface: max(all, interface) (Documentation/networking/ip-sysctl). */
export function effectiveRpFilter(ifname: string): number | undefined {
  const all = Number(readTrimmed(`${PROC}/conf/all/rp_filter`));
  const dev = Number(readTrimmed(`${PROC}/conf/${ifname}/rp_filter`) ?? readTrimmed(`${PROC}/conf/default/rp_filter`));
  if (!Number.isFinite(all) || !Number.isFinite(dev)) return undefined;
  return Math.max(all, dev);
}

/** Loose reverse-path filtering on a tunnel interface, and cgwd's ownership mark. */
export function prepareTunnelInterface(ifname: string, owner: string): void {
  writeFileSync(`${PROC}/conf/${ifname}/rp_filter`, '2');
  writeFileSync(`${SYS_NET}/${ifname}/ifalias`, `${CGWD_IFALIAS_PREFIX} ${owner}`);
}

export type InterfaceKind = 'absent' | 'cgwd-tun' | 'other';

export function interfaceKind(ifname: string): InterfaceKind {
  if (!existsSync(`${SYS_NET}/${ifname}`)) return 'absent';
  const isTun = existsSync(`${SYS_NET}/${ifname}/tun_flags`);
  const alias = readTrimmed(`${SYS_NET}/${ifname}/ifalias`) ?? '';
  return isTun && (alias === CGWD_IFALIAS_PREFIX || alias.startsWith(`${CGWD_IFALIAS_PREFIX} `)) ? 'cgwd-tun' : 'other';
}

/** TUN flag of a device that outlives its file descriptor (linux/if_tun.h, IFF_PERSIST). */
const IFF_PERSIST = 0x0800;

/**
 * Refuses interface names a running cgwd holds. cgwd's TUNs are not persistent: the kernel deletes
 * one when the last descriptor on it closes (a crash included), so a cgwd TUN that exists without
 * IFF_PERSIST belongs to a live process — another instance given the same `interfaces`. Deleting it
 * and flushing its routes as "stale" would cut that instance's traffic.
 */
export function assertInterfacesFree(names: readonly string[], flagsOf: (ifname: string) => string | undefined = (n) => readTrimmed(`${SYS_NET}/${n}/tun_flags`)): void {
  for (const ifname of names) {
    if (interfaceKind(ifname) !== 'cgwd-tun') continue;
    const flags = Number.parseInt(flagsOf(ifname) ?? '', 16);
    if (Number.isInteger(flags) && (flags & IFF_PERSIST) === 0) {
      throw new CgwdError(
        'INTERFACE_IN_USE',
        `interface ${ifname} belongs to a running cgwd (another instance on this box?); give each instance its own names with --interfaces`,
      );
    }
  }
}

/** Deletes stale cgwd TUNs of these names; refuses to start over an interface cgwd did not create. */
export async function clearStaleInterfaces(names: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const ifname of names) {
    const kind = interfaceKind(ifname);
    if (kind === 'other') {
      throw new CgwdError('INTERFACE_IN_USE', `interface ${ifname} exists and is not a tunnel interface cgwd created; choose other names with --interfaces`);
    }
    if (kind === 'cgwd-tun') {
      const r = await runCommand('ip', ['link', 'del', ifname]);
      if (r.code === 0) removed.push(ifname);
    }
  }
  return removed;
}

export function interfaceMtu(ifname: string): number | undefined {
  const v = Number(readTrimmed(`${SYS_NET}/${ifname}/mtu`));
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** The MTU of the interface the host uses toward `address`. */
export async function underlayMtu(address: string): Promise<{ dev: string; mtu: number } | undefined> {
  const route = await resolveUnderlay(address);
  const mtu = route ? interfaceMtu(route.dev) : undefined;
  return route && mtu !== undefined ? { dev: route.dev, mtu } : undefined;
}

/** The underlay MTU below which ESP-in-UDP leaves less than AWS's 1500-byte assumption for the inner packet. */
export const FULL_UNDERLAY_MTU = 1500;

/** Every check, without changing anything (`cgwd validate --host`). */
export async function hostReport(awsOutsideAddresses: readonly string[], interfaces: readonly string[], ecmp = false): Promise<HostCheck[]> {
  const checks: HostCheck[] = [];
  const fwd = ipForwarding();
  checks.push(
    fwd === true
      ? { check: 'ip-forward', level: 'ok', message: 'IPv4 forwarding is on' }
      : { check: 'ip-forward', level: 'warn', message: 'IPv4 forwarding is off (net.ipv4.ip_forward=0): cgwd up turns it on, or the site cannot reach the VPC' },
  );
  const all = Number(readTrimmed(`${PROC}/conf/all/rp_filter`));
  checks.push({
    check: 'rp-filter',
    level: 'ok',
    message: `rp_filter: all=${Number.isFinite(all) ? all : '?'}; cgwd up sets its tunnel interfaces to 2 (loose), so replies on the other tunnel are accepted`,
  });
  if (ecmp) {
    const hash = multipathHashPolicy();
    checks.push(
      hash === 0
        ? { check: 'multipath-hash', level: 'warn', message: 'multipath hashing on addresses only (net.ipv4.fib_multipath_hash_policy=0): cgwd up sets 1 so flows between two hosts spread over both tunnels' }
        : { check: 'multipath-hash', level: 'ok', message: `multipath hash policy ${hash ?? '?'} (both tunnels are used at once)` },
    );
  }
  for (const address of awsOutsideAddresses) {
    const u = await underlayMtu(address);
    if (!u) checks.push({ check: 'underlay-mtu', level: 'fail', message: `no route to the AWS outside address ${address}` });
    else if (u.mtu < FULL_UNDERLAY_MTU) {
      checks.push({ check: 'underlay-mtu', level: 'warn', message: `toward ${address} via ${u.dev}: MTU ${u.mtu} < ${FULL_UNDERLAY_MTU}; the tunnel MTU is lowered to match` });
    } else checks.push({ check: 'underlay-mtu', level: 'ok', message: `toward ${address} via ${u.dev}: MTU ${u.mtu}` });
  }
  for (const ifname of interfaces) {
    const kind = interfaceKind(ifname);
    if (kind === 'other') checks.push({ check: 'interface', level: 'fail', message: `${ifname} exists and is not a cgwd tunnel interface` });
    else if (kind === 'cgwd-tun') checks.push({ check: 'interface', level: 'warn', message: `${ifname} is a stale cgwd tunnel interface; cgwd up removes it` });
    else checks.push({ check: 'interface', level: 'ok', message: `${ifname} is free` });
  }
  return checks;
}
