/**
 * What `cgwd up` needs from the kernel, checked before anything is opened, so a missing
 * capability is named with what it is for instead of surfacing as a bare EPERM halfway
 * through the start (capabilities(7); the units grant exactly these as ambient capabilities):
 *
 *   CAP_NET_ADMIN         TUN devices (TUNSETIFF), their addresses, MTU and kernel routes
 *   CAP_NET_BIND_SERVICE  UDP 500 (IKE) and TCP 179 (BGP), unless net.ipv4.ip_unprivileged_port_start allows them
 *
 * No CAP_NET_RAW: the keepalive probes are built and answered inside the data plane.
 * /dev/net/tun must also be readable and writable by the user (capabilities do not override
 * file permissions here; Debian's udev rules make it 0666).
 */
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { CgwdError } from '../errors.js';

/** Capability numbers of linux/capability.h. */
export const CAPABILITY = {
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_ADMIN: 12,
} as const;
export type CapabilityName = keyof typeof CAPABILITY;

const PURPOSE: Record<CapabilityName, string> = {
  CAP_NET_ADMIN: 'create the TUN interfaces (cgw-t1, cgw-t2), set their addresses and MTU, and install routes',
  CAP_NET_BIND_SERVICE: 'bind UDP port 500 (IKE) and TCP port 179 (BGP)',
};

export class MissingCapabilityError extends CgwdError {
  readonly missing: readonly CapabilityName[];
  constructor(missing: readonly CapabilityName[]) {
    super(
      'MISSING_CAPABILITY',
      `cgwd up lacks ${missing.join(' and ')}: needed to ${missing.map((c) => PURPOSE[c]).join('; and to ')}. ` +
        'Run it from the cgwd systemd unit (AmbientCapabilities=), as root, or grant the capability ' +
        `(e.g. setpriv --inh-caps ${setprivList(missing)} --ambient-caps ${setprivList(missing)})`,
    );
    this.missing = missing;
  }
}

function setprivList(caps: readonly CapabilityName[]): string {
  return caps.map((c) => `+${c.slice('CAP_'.length).toLowerCase()}`).join(',');
}

/** The CapEff bit set of /proc/self/status ("CapEff:\t000001ffffffffff"). */
export function effectiveCapabilities(procStatus: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]{1,16})\s*$/m.exec(procStatus);
  if (!m?.[1]) throw new CgwdError('CAPABILITIES_UNREADABLE', 'cannot read the effective capabilities (no CapEff in /proc/self/status)');
  return BigInt(`0x${m[1]}`);
}

export function hasCapability(set: bigint, name: CapabilityName): boolean {
  return ((set >> BigInt(CAPABILITY[name])) & 1n) === 1n;
}

export interface CapabilityFacts {
  capEff: bigint;
  /** net.ipv4.ip_unprivileged_port_start of the current network namespace (default 1024). */
  unprivilegedPortStart: number;
}

export interface CapabilityVerdict {
  missing: CapabilityName[];
  warnings: string[];
}

/** What is missing (fatal) and what only weakens (warnings), from the facts. Lowest port bound: 179. */
export function judgeCapabilities(facts: CapabilityFacts, lowestPort = 179): CapabilityVerdict {
  const missing: CapabilityName[] = [];
  const warnings: string[] = [];
  if (!hasCapability(facts.capEff, 'CAP_NET_ADMIN')) missing.push('CAP_NET_ADMIN');
  if (facts.unprivilegedPortStart > lowestPort && !hasCapability(facts.capEff, 'CAP_NET_BIND_SERVICE')) missing.push('CAP_NET_BIND_SERVICE');
  return { missing, warnings };
}

function readNumber(path: string, fallback: number): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : fallback;
  } catch {
    return fallback;
  }
}

/** Reads the facts of this process and its network namespace. */
export function capabilityFacts(): CapabilityFacts {
  const capEff = effectiveCapabilities(readFileSync('/proc/self/status', 'utf8'));
  const unprivilegedPortStart = readNumber('/proc/sys/net/ipv4/ip_unprivileged_port_start', 1024);
  return { capEff, unprivilegedPortStart };
}

export class TunDeviceAccessError extends CgwdError {
  constructor(device: string, reason: string) {
    super(
      'TUN_DEVICE_DENIED',
      `cgwd up cannot open ${device} for reading and writing (${reason}): the TUN interfaces need it. ` +
        'Give the device mode 0666 (what Debian\'s udev rules do) or run cgwd as a user that may open it; under systemd keep DeviceAllow=/dev/net/tun rw',
    );
  }
}

/** Throws TunDeviceAccessError when this process may not open the TUN clone device. */
export function assertTunAccess(device = '/dev/net/tun'): void {
  try {
    accessSync(device, fsConstants.R_OK | fsConstants.W_OK);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String((error as NodeJS.ErrnoException).code) : 'error';
    throw new TunDeviceAccessError(device, code);
  }
}

/** Throws MissingCapabilityError naming every missing capability; returns the warnings to log. */
export function assertCapabilities(facts: CapabilityFacts = capabilityFacts()): string[] {
  const verdict = judgeCapabilities(facts);
  if (verdict.missing.length > 0) throw new MissingCapabilityError(verdict.missing);
  return verdict.warnings;
}
