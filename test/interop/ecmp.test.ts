/**
 * Both tunnels at once (ECMP): the multipath route as the Linux kernel takes it from the addon, then
 * `cgwd up --ecmp on` in the lab — one route over both tunnels, equal advertisements (BIRD as AWS merges
 * them into its own multipath route), flows spread over both TUNs, a silently cut tunnel leaves the
 * route, and nothing of cgwd's is left after it stops. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { cutTunnel, labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { CGWD_ROUTE_PROTOCOL, ERRNO, NetlinkRouteTable, flushOwnedRoutes, routeOver } from '../../src/routing/kernel-routes.js';
import { execIn, run, runCommand, waitFor } from '../../src/system/exec.js';
import { CgwdProcess } from './helpers/cgwd-process.js';

interface ListedRoute {
  dst: string;
  dev?: string;
  protocol?: string;
  nexthops?: { gateway: string; dev: string }[];
}

async function routesIn(ns: string, prefix: string): Promise<ListedRoute[]> {
  return JSON.parse((await run('ip', ['-n', ns, '-j', 'route', 'show', prefix])) || '[]') as ListedRoute[];
}

const hopsOf = (r: ListedRoute | undefined): string[] => (r?.nexthops ? r.nexthops.map((n) => n.dev) : r?.dev ? [r.dev] : []);

describe('multipath routes through rtnetlink (real kernel, own namespace)', () => {
  const ns = 'cgwd-ecmp-rt';
  const table = new NetlinkRouteTable(CGWD_ROUTE_PROTOCOL, ns);
  const prefix = '198.51.100.0/24';
  const both = routeOver(prefix, [{ via: '192.0.2.2', dev: 'd1' }, { via: '192.0.2.6', dev: 'd2' }], 100);

  beforeAll(async () => {
    await runCommand('ip', ['netns', 'del', ns]);
    await run('ip', ['netns', 'add', ns]);
    for (const [dev, address] of [['d1', '192.0.2.1/30'], ['d2', '192.0.2.5/30']] as const) {
      await run('ip', ['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}-peer`]);
      await run('ip', ['-n', ns, 'addr', 'add', address, 'dev', dev]);
      for (const end of [dev, `${dev}-peer`]) await run('ip', ['-n', ns, 'link', 'set', end, 'up']);
    }
  });

  afterAll(async () => {
    await runCommand('ip', ['netns', 'del', ns]);
  });

  it('add over two next hops, replace by one and back, delete; someone else\'s route of that key is never replaced', async () => {
    expect(await table.apply([{ verb: 'add', route: both }])).toEqual([0]);
    let [r] = await routesIn(ns, prefix);
    expect(hopsOf(r)).toEqual(['d1', 'd2']);
    expect(r?.nexthops?.map((n) => n.gateway)).toEqual(['192.0.2.2', '192.0.2.6']);

    // Tunnel 1 lost: one atomic replace leaves the route on tunnel 2 alone.
    expect(await table.apply([{ verb: 'replace', route: { prefix, via: '192.0.2.6', dev: 'd2', metric: 100 } }])).toEqual([0]);
    const single = await routesIn(ns, prefix);
    expect(single).toHaveLength(1);
    expect(single[0]?.nexthops).toBeUndefined();
    expect(single[0]?.dev).toBe('d2');

    expect(await table.apply([{ verb: 'replace', route: both }])).toEqual([0]);
    [r] = await routesIn(ns, prefix);
    expect(hopsOf(r)).toEqual(['d1', 'd2']);

    expect(await table.apply([{ verb: 'delete', route: both }, { verb: 'delete', route: both }])).toEqual([0, ERRNO.ESRCH]);
    expect(await routesIn(ns, prefix)).toEqual([]);

    await run('ip', ['-n', ns, 'route', 'add', prefix, 'via', '192.0.2.2', 'dev', 'd1', 'metric', '100', 'proto', 'static']);
    expect(await table.apply([{ verb: 'add', route: both }])).toEqual([ERRNO.EEXIST]);
    // A delete names cgwd's protocol: the operator's route stays.
    expect(await table.apply([{ verb: 'delete', route: both }])).toEqual([ERRNO.ESRCH]);
    const theirs = await routesIn(ns, prefix);
    expect(theirs.map((x) => [x.dev, x.protocol])).toEqual([['d1', 'static']]);
  });

  it('a stale run\'s multipath route is flushed by any of its devices; other devices\' and other protocols\' routes stay', async () => {
    const other = '203.0.113.0/24';
    expect(await table.apply([{ verb: 'add', route: { ...both, metric: 7 } }, { verb: 'add', route: { prefix: other, via: '192.0.2.6', dev: 'd2', metric: 100 } }])).toEqual([0, 0]);
    // An instance owning only d1 (its tunnel 2 interface is gone) still removes the route that used both.
    expect(await flushOwnedRoutes(['d1'], table, ns)).toBe(1);
    expect((await routesIn(ns, prefix)).map((x) => x.protocol)).toEqual(['static']);
    expect(hopsOf((await routesIn(ns, other))[0])).toEqual(['d2']);
    expect(await flushOwnedRoutes(['d2'], table, ns)).toBe(1);
    expect(await routesIn(ns, other)).toEqual([]);
  });
});

describe('cgwd up --ecmp on in the lab (strongSwan and BIRD as AWS)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'cgwd-ecmp-'));
  const controlSocket = path.join(work, 'cgwd.sock');
  const config = loadConfig(LAB_CONFIG_BGP);
  let state: LabState;
  const running: CgwdProcess[] = [];

  beforeAll(async () => {
    state = await labUp({ config, configPath: LAB_CONFIG_BGP, options: { nat: false } });
    await run('ip', ['netns', 'exec', NS.cgw, 'sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=0']);
  });

  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
    await cutTunnel(config.tunnels[0].aws.outsideAddress, false);
  });

  afterAll(async () => {
    await labDown();
    rmSync(work, { recursive: true, force: true });
  });

  const txPackets = (dev: string): Promise<number> =>
    execIn(NS.cgw, 'cat', [`/sys/class/net/${dev}/statistics/tx_packets`]).then((s) => Number(s.trim()));

  /** One datagram from each of `flows` sockets on the site host to the VPC host: one flow each. */
  async function sendFlows(flows: number): Promise<void> {
    const script = `const d=require('node:dgram');let n=${flows};for(let i=0;i<${flows};i++){const s=d.createSocket('udp4');s.send(Buffer.alloc(64),9,'198.19.0.10',()=>{s.close();if(--n===0)process.exit(0)})}`;
    await execIn(NS.onprem, process.execPath, ['-e', script]);
  }

  it('one route over both tunnels, equal advertisements, flows on both, a cut tunnel leaves the route, nothing left after stop', async () => {
    const p = new CgwdProcess(
      NS.cgw,
      ['up', '--config', LAB_CONFIG_BGP, '--ecmp', 'on', '--advertise', '192.0.2.0/24', '--keepalive-interval', '0.2', '--control-socket', controlSocket],
      state.stateDir,
    );
    running.push(p);
    await waitFor(
      'the VPC route over both tunnels',
      async () => {
        if (p.exitCode !== null) throw new Error(`cgwd exited: ${p.stderr.slice(-1000)}`);
        return hopsOf((await routesIn(NS.cgw, '198.19.0.0/16'))[0]).length === 2 ? true : undefined;
      },
      60_000,
      250,
    );
    const [route] = await routesIn(NS.cgw, '198.19.0.0/16');
    expect(hopsOf(route)).toEqual(['cgw-t1', 'cgw-t2']);
    expect(route?.protocol).toBe(String(CGWD_ROUTE_PROTOCOL));
    // cgwd turned on port hashing in its namespace, so one pair of hosts spreads.
    expect((await execIn(NS.cgw, 'cat', ['/proc/sys/net/ipv4/fib_multipath_hash_policy'])).trim()).toBe('1');

    // Equal advertisements: the AWS router (BIRD, merge paths) holds the site over both tunnels.
    await waitFor('AWS routes the site over both tunnels', async () => (hopsOf((await routesIn(NS.aws, '192.0.2.0/24'))[0]).length === 2 ? true : undefined), 30_000, 250);

    const before = [await txPackets('cgw-t1'), await txPackets('cgw-t2')];
    await sendFlows(64);
    const after = [await txPackets('cgw-t1'), await txPackets('cgw-t2')];
    const spread = after.map((a, i) => a - (before[i] ?? 0));
    // Keepalives add a few packets to each; 64 flows on one tunnel alone would leave the other near 0.
    console.log(`64 UDP flows: tunnel 1 sent ${spread[0]} packets, tunnel 2 ${spread[1]} (keepalives included)`);
    expect(spread[0]! + spread[1]!).toBeGreaterThanOrEqual(64);
    expect(Math.min(spread[0]!, spread[1]!)).toBeGreaterThanOrEqual(8);

    const cutAt = Date.now();
    await cutTunnel(config.tunnels[0].aws.outsideAddress, true);
    await waitFor('the route on tunnel 2 alone', async () => (hopsOf((await routesIn(NS.cgw, '198.19.0.0/16'))[0]).join() === 'cgw-t2' ? true : undefined), 30_000, 50);
    console.log(`tunnel 1 cut: the multipath route became tunnel 2 alone after ${Date.now() - cutAt} ms`);
    const through = await ping(NS.onprem, '198.19.0.10', 20, 0.05);
    expect(through.received).toBe(20);

    await p.stop();
    expect(await run('ip', ['-n', NS.cgw, 'route', 'show', 'proto', String(CGWD_ROUTE_PROTOCOL)])).toBe('');
  });
});
