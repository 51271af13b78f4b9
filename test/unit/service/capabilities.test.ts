import { describe, expect, it } from 'vitest';
import { assertCapabilities, assertTunAccess, TunDeviceAccessError, effectiveCapabilities, hasCapability, judgeCapabilities, MissingCapabilityError } from '../../../src/service/capabilities.js';
import { CgwdError } from '../../../src/errors.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const UNIT = bit(12) | bit(10); // CAP_NET_ADMIN, CAP_NET_BIND_SERVICE (no CAP_NET_RAW: probes in the data plane)

describe('capabilities of cgwd up', () => {
  it('reads CapEff from /proc/self/status', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000001400\nCapPrm:\t0000000000001400\nCapEff:\t0000000000001400\nCapBnd:\t000001ffffffffff\n';
    const eff = effectiveCapabilities(status);
    expect(eff).toBe(UNIT);
    expect(hasCapability(eff, 'CAP_NET_ADMIN')).toBe(true);
    expect(hasCapability(0x1000n, 'CAP_NET_BIND_SERVICE')).toBe(false);
    expect(() => effectiveCapabilities('Name:\tnode\n')).toThrow(CgwdError);
  });

  it("the unit's set is enough; root is enough", () => {
    expect(judgeCapabilities({ capEff: UNIT, unprivilegedPortStart: 1024 })).toEqual({ missing: [], warnings: [] });
    expect(assertCapabilities({ capEff: 0x1ffffffffffn, unprivilegedPortStart: 1024 })).toEqual([]);
  });

  it('names each missing capability and what it is for, with a stable code', () => {
    let error: unknown;
    try {
      assertCapabilities({ capEff: 0n, unprivilegedPortStart: 1024 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MissingCapabilityError);
    const m = error as MissingCapabilityError;
    expect(m.code).toBe('MISSING_CAPABILITY');
    expect(m.missing).toEqual(['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE']);
    expect(m.message).toMatch(/CAP_NET_ADMIN and CAP_NET_BIND_SERVICE: needed to create the TUN interfaces.*bind UDP port 500 \(IKE\) and TCP port 179/);
    expect(m.message).toContain('--ambient-caps +net_admin,+net_bind_service');
  });

  it('CAP_NET_BIND_SERVICE is not needed where unprivileged ports start low enough', () => {
    expect(judgeCapabilities({ capEff: bit(12), unprivilegedPortStart: 0 }).missing).toEqual([]);
    expect(judgeCapabilities({ capEff: bit(12), unprivilegedPortStart: 500 }).missing).toEqual(['CAP_NET_BIND_SERVICE']);
  });

  it('no warning and nothing missing without CAP_NET_RAW: the keepalive needs no raw socket', () => {
    expect(judgeCapabilities({ capEff: bit(12) | bit(10), unprivilegedPortStart: 1024 })).toEqual({ missing: [], warnings: [] });
  });
});

describe('the TUN clone device', () => {
  it('a device this process may not open is named with a stable code', () => {
    let error: unknown;
    try {
      assertTunAccess('/nonexistent/net/tun');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TunDeviceAccessError);
    expect((error as TunDeviceAccessError).code).toBe('TUN_DEVICE_DENIED');
    expect((error as Error).message).toMatch(/cannot open \/nonexistent\/net\/tun .*ENOENT/);
    expect(() => assertTunAccess('/dev/null')).not.toThrow();
  });
});
