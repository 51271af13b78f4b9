/**
 * Two cgwd instances on one box, one per VPN connection (what cgwd@<connection>.service runs): each
 * has its own outside address, TUN names, control socket, metrics port and route metric, and owns
 * only its routes (protocol 199 on its own TUNs). Both carry traffic; stopping one removes its routes
 * and leaves the other's, which keeps carrying traffic. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { labDown } from '../../src/lab/lab.js';
import { HA_CONFIG_A, HA_CONFIG_B } from '../../src/lab/ha-pair.js';
import { multiLabUp, type MultiLabState } from '../../src/lab/multi-lab.js';
import { execIn, execInResult, run, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';
import { startCgwd, status, waitHealthy, type BoxCgwd } from './helpers/multi-boxes.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-two-'));
const BOX = 'cgwd-boxa';
let lab: MultiLabState;
const running: BoxCgwd[] = [];

beforeAll(async () => {
  lab = await multiLabUp({
    spec: {
      connections: [HA_CONFIG_A, HA_CONFIG_B].map((file) => ({ config: loadConfig(file), configPath: file })),
      sites: [{ id: 'a', lan: '192.0.2.0', gateway: 'box', boxes: [{ id: 'a', connections: [0, 1] }] }],
    },
  });
  // A second LAN host address, reached through the second connection only.
  await execIn('cgwd-sitea', 'ip', ['addr', 'add', '192.0.2.200/24', 'dev', 'br0']);
}, 120_000);

afterAll(async () => {
  for (const c of running.splice(0)) await c.process.stop();
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

async function metricsConnection(port: number): Promise<string | undefined> {
  const r = await execInResult(BOX, process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>console.log(t))`]);
  return /vpn_id="([^"]+)"/.exec(r.stdout)?.[1];
}

async function pingFrom(source: string, target: string, count: number): Promise<number> {
  const r = await execInResult('cgwd-sitea', 'ping', ['-n', '-q', '-c', String(count), '-i', '0.05', '-W', '1', '-I', source, target]);
  return Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
}

describe('two cgwd instances on one box, two connections', () => {
  it('do not collide (interfaces, control socket, metrics port, routes); each carries traffic; stopping one leaves the other', async () => {
    const one = startCgwd(BOX, lab.state.stateDir, path.join(work, 'one.sock'), [
      '--config', HA_CONFIG_A, '--advertise', '192.0.2.0/24,192.0.2.0/25', '--metrics-listen', '127.0.0.1:9580',
    ]);
    running.push(one);
    const two = startCgwd(BOX, lab.state.stateDir, path.join(work, 'two.sock'), [
      '--config', HA_CONFIG_B, '--advertise', '192.0.2.0/24,192.0.2.128/25', '--interfaces', 'cgw-t3,cgw-t4',
      '--metrics-listen', '127.0.0.1:9581', '--route-metric', '200',
    ]);
    running.push(two);
    // Both advertise the whole site prefix too: the gateway re-advertises each connection's /25 to the
    // other (CloudHub), and each instance must refuse the other's half as its own site's, not route it.
    await Promise.all([waitHealthy(one), waitHealthy(two)]);

    // A third instance started with the first one's interface names (and outside address) is refused
    // and disturbs neither: the routes and health checked below are the first two's.
    const clash = new CgwdProcess(BOX, ['up', '--config', HA_CONFIG_A, '--control-socket', path.join(work, 'three.sock'), '--metrics-listen', 'off'], lab.state.stateDir);
    await waitFor('the clashing instance to exit', async () => (clash.exitCode !== null ? true : undefined), 30_000, 200);
    expect(clash.exitCode).not.toBe(0);
    await waitHealthy(one);

    const routes = await waitFor('both instances hold their VPC route', async () => {
      const out = await run('ip', ['-n', BOX, 'route', 'show', '198.19.0.0/16', 'proto', '199']);
      return /dev cgw-t[12] .*metric 100/.test(out) && /dev cgw-t[34] .*metric 200/.test(out) ? out : undefined;
    }, 30_000, 500);
    expect(routes.split('\n').filter((l) => l.trim() !== '').length).toBe(2);
    expect(await metricsConnection(9580)).toBe('vpn-0lab00000000000a1');
    expect(await metricsConnection(9581)).toBe('vpn-0lab00000000000a2');

    // Each carries traffic: from the VPC, .10 is behind connection 1's /25 and .200 behind connection 2's.
    const inBefore = (await status(two)).tunnels.reduce((n, t) => n + (t.traffic?.packetsIn ?? 0), 0);
    const viaOne = await execInResult('cgwd-vpc', 'ping', ['-n', '-q', '-c', '10', '-i', '0.05', '-W', '1', '192.0.2.10']);
    const viaTwo = await execInResult('cgwd-vpc', 'ping', ['-n', '-q', '-c', '10', '-i', '0.05', '-W', '1', '192.0.2.200']);
    expect([/(\d+) received/.exec(viaOne.stdout)?.[1], /(\d+) received/.exec(viaTwo.stdout)?.[1]]).toEqual(['10', '10']);
    const inAfter = (await status(two)).tunnels.reduce((n, t) => n + (t.traffic?.packetsIn ?? 0), 0);
    expect(inAfter - inBefore).toBeGreaterThanOrEqual(10);

    // Stopping the first removes its routes only; the second's stay and carry the traffic.
    expect(await one.process.stop()).toBe(0);
    running.splice(running.indexOf(one), 1);
    const left = await run('ip', ['-n', BOX, 'route', 'show', 'proto', '199']);
    expect(left).not.toMatch(/cgw-t[12]/);
    expect(left).toMatch(/198\.19\.0\.0\/16 via 169\.254\.(30|40)\.1 dev cgw-t[34] .*metric 200/);
    expect(await pingFrom('192.0.2.200', '198.19.0.10', 10)).toBe(10);
    expect((await status(two)).tunnels.every((t) => t.cloudWatch.tunnelState === 1)).toBe(true);
  }, 300_000);
});
