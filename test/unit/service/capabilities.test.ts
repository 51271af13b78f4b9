import { describe, expect, it } from 'vitest';
import { assertCapabilities, assertTunAccess, TunDeviceAccessError, effectiveCapabilities, hasCapability, judgeCapabilities, MissingCapabilityError } from '../../../src/service/capabilities.js';
import { CgwdError } from '../../../src/errors.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const UNIT = bit(12) | bit(10) | bit(13); // CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_NET_RAW

describe('capabilities of cgwd up', () => {
  it('reads CapEff from /proc/self/status', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000003400\nCapPrm:\t0000000000003400\nCapEff:\t0000000000003400\nCapBnd:\t000001ffffffffff\n';
    const eff = effectiveCapabilities(status);
    expect(eff).toBe(UNIT);
    expect(hasCapability(eff, 'CAP_NET_ADMIN')).toBe(true);
    expect(hasCapability(0x1000n, 'CAP_NET_RAW')).toBe(false);
    expect(() => effectiveCapabilities('Name:\tnode\n')).toThrow(CgwdError);
  });

  it("the unit's set is enough; root is enough", () => {
    expect(judgeCapabilities({ capEff: UNIT, unprivilegedPortStart: 1024, icmpSocketAllowed: false })).toEqual({ missing: [], warnings: [] });
    expect(assertCapabilities({ capEff: 0x1ffffffffffn, unprivilegedPortStart: 1024, icmpSocketAllowed: false })).toEqual([]);
  });

  it('names each missing capability and what it is for, with a stable code', () => {
    let error: unknown;
    try {
      assertCapabilities({ capEff: 0n, unprivilegedPortStart: 1024, icmpSocketAllowed: true });
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
    expect(judgeCapabilities({ capEff: bit(12) | bit(13), unprivilegedPortStart: 0, icmpSocketAllowed: false }).missing).toEqual([]);
    expect(judgeCapabilities({ capEff: bit(12) | bit(13), unprivilegedPortStart: 500, icmpSocketAllowed: false }).missing).toEqual(['CAP_NET_BIND_SERVICE']);
  });

  it('without CAP_NET_RAW only a warning about the keepalive pings, and none where ICMP sockets are allowed', () => {
    const v = judgeCapabilities({ capEff: bit(12) | bit(10), unprivilegedPortStart: 1024, icmpSocketAllowed: false });
    expect(v.missing).toEqual([]);
    expect(v.warnings).toHaveLength(1);
    expect(v.warnings[0]).toMatch(/CAP_NET_RAW.*keepalive pings/);
    expect(judgeCapabilities({ capEff: bit(12) | bit(10), unprivilegedPortStart: 1024, icmpSocketAllowed: true }).warnings).toEqual([]);
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
