/**
 * The health verdict behind `cgwd status --check` (keepalived's VRRP check, monitors): a tunnel is
 * up when it carries traffic (CloudWatch TunnelState 1: CHILD SA up, keepalives answered, BGP
 * Established on a BGP connection); `any` passes with one such tunnel, `all` needs every one.
 */
import { CgwdError } from '../errors.js';
import type { DaemonStatus } from '../daemon/status.js';

export type HealthCheckMode = 'any' | 'all';

export interface HealthVerdict {
  healthy: boolean;
  /** One line, as the check prints it. */
  line: string;
}

export function parseCheckMode(value: boolean | string | undefined): HealthCheckMode {
  const which = value === undefined || value === true ? 'any' : value;
  if (which !== 'any' && which !== 'all') throw new CgwdError('USAGE', `--check takes "any" or "all", not "${String(which)}"`);
  return which;
}

export function healthVerdict(status: Pick<DaemonStatus, 'connectionId' | 'tunnels'>, mode: HealthCheckMode): HealthVerdict {
  const up = status.tunnels.filter((t) => t.cloudWatch.tunnelState === 1).map((t) => t.tunnel);
  const healthy = mode === 'all' ? up.length === status.tunnels.length : up.length > 0;
  return {
    healthy,
    line: `${healthy ? 'OK' : 'FAIL'} ${status.connectionId}: ${up.length ? `tunnel ${up.join(' and ')} up` : 'no tunnel up'} (of ${status.tunnels.length})`,
  };
}
