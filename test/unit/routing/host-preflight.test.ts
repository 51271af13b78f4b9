import { describe, expect, it } from 'vitest';
import { clearStaleInterfaces, effectiveRpFilter, interfaceKind } from '../../../src/system/host-preflight.js';

describe('host preflight (reads /proc and /sys, changes nothing here)', () => {
  it('an interface that is not a cgwd TUN is never deleted: the start stops instead', async () => {
    expect(interfaceKind('lo')).toBe('other');
    await expect(clearStaleInterfaces(['lo'])).rejects.toMatchObject({ code: 'INTERFACE_IN_USE' });
  });

  it('an absent interface is free', async () => {
    expect(interfaceKind('cgwd-no-such0')).toBe('absent');
    expect(await clearStaleInterfaces(['cgwd-no-such0'])).toEqual([]);
  });

  it('rp_filter is read as the kernel applies it: max(all, interface)', () => {
    const v = effectiveRpFilter('lo');
    expect(v === undefined || [0, 1, 2].includes(v)).toBe(true);
  });
});
