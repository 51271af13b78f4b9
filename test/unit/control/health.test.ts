import { describe, expect, it } from 'vitest';
import { healthVerdict, parseCheckMode } from '../../../src/control/health.js';
import type { DaemonStatus } from '../../../src/daemon/status.js';

function status(states: (0 | 1)[]): Pick<DaemonStatus, 'connectionId' | 'tunnels'> {
  return {
    connectionId: 'vpn-1',
    tunnels: states.map((tunnelState, i) => ({ tunnel: i + 1, cloudWatch: { tunnelState } })) as unknown as DaemonStatus['tunnels'],
  };
}

describe('the health verdict of status --check and cgwd-check', () => {
  it('any passes with one tunnel carrying traffic, all needs both', () => {
    expect(healthVerdict(status([1, 0]), 'any')).toEqual({ healthy: true, line: 'OK vpn-1: tunnel 1 up (of 2)' });
    expect(healthVerdict(status([1, 0]), 'all').healthy).toBe(false);
    expect(healthVerdict(status([1, 1]), 'all').healthy).toBe(true);
    expect(healthVerdict(status([0, 0]), 'any')).toEqual({ healthy: false, line: 'FAIL vpn-1: no tunnel up (of 2)' });
  });

  it('takes any (the default) or all, nothing else', () => {
    expect(parseCheckMode(undefined)).toBe('any');
    expect(parseCheckMode(true)).toBe('any');
    expect(parseCheckMode('all')).toBe('all');
    expect(() => parseCheckMode('most')).toThrow(/any.*all/);
  });
});
