import { describe, expect, it } from 'vitest';
import type { ReloadPlan, TunnelChanges } from '../../../src/config/diff.js';
import type { TunnelConfig, TunnelIndex } from '../../../src/config/model.js';
import { applyReload, type ReloadTarget } from '../../../src/daemon/reload.js';

function changes(slot: TunnelIndex, over: Partial<TunnelChanges> = {}): TunnelChanges {
  return { slot, config: { index: slot } as TunnelConfig, reconnect: false, reauthenticate: false, readdress: false, packetOptions: false, bgp: false, fields: [], ...over };
}

function plan(t1: Partial<TunnelChanges>, t2: Partial<TunnelChanges>, over: Partial<ReloadPlan> = {}): ReloadPlan {
  return {
    tunnels: [changes(1, t1), changes(2, t2)],
    target: false, advertise: false, staticRoutes: false, keepalive: false, metrics: false, failback: false, refused: [], unchanged: false,
    ...over,
  };
}

/** Records every call; `comesBack` says which tunnels carry traffic again after their change. */
function fakeTarget(active: TunnelIndex | null, comesBack: readonly TunnelIndex[] = [1, 2]): ReloadTarget & { log: string[]; drained: Set<TunnelIndex>; maxDrained: number } {
  let clock = 0;
  const drained = new Set<TunnelIndex>();
  const t = {
    log: [] as string[],
    drained,
    maxDrained: 0,
    applySettings: async (p: ReloadPlan) => (p.advertise ? ['advertised prefixes updated'] : []),
    activeTunnel: () => active,
    drain(tunnel: TunnelIndex, on: boolean) {
      if (on) drained.add(tunnel);
      else drained.delete(tunnel);
      t.maxDrained = Math.max(t.maxDrained, drained.size);
      t.log.push(`${on ? 'drain' : 'undrain'} ${tunnel}`);
    },
    setPacketOptions: (c: TunnelChanges) => void t.log.push(`packet ${c.slot}`),
    renegotiate: async (c: TunnelChanges) => void t.log.push(`renegotiate ${c.slot}`),
    restartBgp: async (c: TunnelChanges) => void t.log.push(`bgp ${c.slot}`),
    waitCarrying: async (tunnel: TunnelIndex) => {
      clock += 1500;
      t.log.push(`wait ${tunnel}`);
      return comesBack.includes(tunnel);
    },
    now: () => clock,
  };
  return t;
}

describe('reload ordering', () => {
  it('nothing changed: nothing is touched', async () => {
    const target = fakeTarget(1);
    const result = await applyReload(target, { ...plan({}, {}), unchanged: true }, { bgp: true });
    expect(result.outcome).toBe('unchanged');
    expect(target.log).toEqual([]);
  });

  it('one changed tunnel: drained, renegotiated, back, undrained; the other untouched', async () => {
    const target = fakeTarget(2);
    const result = await applyReload(target, plan({ reauthenticate: true, fields: ['psk'] }, {}), { bgp: true });
    expect(target.log).toEqual(['drain 1', 'renegotiate 1', 'wait 1', 'undrain 1']);
    expect(result).toMatchObject({ outcome: 'applied', tunnels: [{ tunnel: 1, actions: ['reauthenticated'], ok: true, ms: 1500 }, { tunnel: 2, actions: [], ok: true }] });
    expect(result.summary).toBe('reload applied: tunnel 1 reauthenticated (1500 ms)');
  });

  it('both changed: the standby goes first, the active one only after it carries traffic again; never both drained', async () => {
    const target = fakeTarget(1);
    const result = await applyReload(target, plan({ reauthenticate: true }, { reconnect: true }), { bgp: true });
    expect(target.log).toEqual(['drain 2', 'renegotiate 2', 'wait 2', 'undrain 2', 'drain 1', 'renegotiate 1', 'wait 1', 'undrain 1']);
    expect(target.maxDrained).toBe(1);
    expect(result.outcome).toBe('applied');
  });

  it('a tunnel that does not come back stops the reload before the other one', async () => {
    const target = fakeTarget(1, [1]);
    const result = await applyReload(target, plan({ reauthenticate: true }, { reauthenticate: true }), { bgp: true });
    expect(target.log).toEqual(['drain 2', 'renegotiate 2', 'wait 2', 'undrain 2']);
    expect(result.outcome).toBe('partial');
    expect(result.summary).toBe('reload partial: tunnel 1 left as it was; tunnel 2 reauthenticated but did not come back');
  });

  it('a new target gateway restarts BGP on each tunnel in turn; without BGP nothing restarts', async () => {
    const target = fakeTarget(1);
    await applyReload(target, plan({}, {}, { target: true }), { bgp: true });
    expect(target.log).toEqual(['drain 2', 'bgp 2', 'wait 2', 'undrain 2', 'drain 1', 'bgp 1', 'wait 1', 'undrain 1']);
    const staticTarget = fakeTarget(1);
    const result = await applyReload(staticTarget, plan({}, {}, { target: true, advertise: true }), { bgp: false });
    expect(staticTarget.log).toEqual([]);
    expect(result.summary).toBe('reload applied: advertised prefixes updated');
  });

  it('packet options apply in place, without a drain', async () => {
    const target = fakeTarget(1);
    await applyReload(target, plan({ packetOptions: true, fields: ['ipsec.tcpMss'] }, {}), { bgp: true });
    expect(target.log).toEqual(['packet 1']);
  });
});
