/**
 * VPN CloudHub in the several-connection lab: two sites with their own LANs and ASNs, each with one
 * box and one VPN connection to the same virtual private gateway, which re-advertises each site's
 * prefix to the other with the Amazon ASN in the AS path. Site A's host reaches site B's host
 * through AWS; an overlapping site prefix is refused and named in status. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { birdc, labDown } from '../../src/lab/lab.js';
import { HA_CONFIG_A, HA_CONFIG_B } from '../../src/lab/ha-pair.js';
import { MULTI_BIRD, multiLabUp, type MultiLabState } from '../../src/lab/multi-lab.js';
import { ping } from '../../src/lab/reference.js';
import { run, waitFor } from '../../src/system/exec.js';
import { CLI } from './helpers/cgwd-process.js';
import { startCgwd, status, waitHealthy, type BoxCgwd } from './helpers/multi-boxes.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-cloudhub-'));
let lab: MultiLabState;
const running: BoxCgwd[] = [];
const SITE_A = '192.0.2.0/24';
const SITE_B = '198.18.64.0/24';

beforeAll(async () => {
  lab = await multiLabUp({
    spec: {
      connections: [HA_CONFIG_A, HA_CONFIG_B].map((file) => ({ config: loadConfig(file), configPath: file })),
      sites: [
        { id: 'a', lan: '192.0.2.0', gateway: 'box', boxes: [{ id: 'a', connections: [0] }] },
        { id: 'b', lan: '198.18.64.0', gateway: 'box', boxes: [{ id: 'b', connections: [1] }] },
      ],
    },
  });
}, 120_000);

afterAll(async () => {
  for (const c of running.splice(0)) await c.process.stop();
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

function site(id: 'a' | 'b', advertise: string): BoxCgwd {
  const c = startCgwd(`cgwd-box${id}`, lab.state.stateDir, path.join(work, `${id}.sock`), [
    '--config', id === 'a' ? HA_CONFIG_A : HA_CONFIG_B, '--advertise', advertise, '--metrics-listen', 'off',
  ]);
  running.push(c);
  return c;
}

describe('VPN CloudHub: two sites through one virtual private gateway', () => {
  it("each cgwd installs the other site's prefix learned from AWS (AS path through the Amazon ASN); site A reaches site B", async () => {
    const a = site('a', SITE_A);
    const b = site('b', SITE_B);
    await Promise.all([waitHealthy(a), waitHealthy(b)]);
    await waitFor('each site has the other\'s prefix', async () => {
      const [sa, sb] = [await status(a), await status(b)];
      return sa.tunnels[0]?.routes.includes(SITE_B) && sb.tunnels[0]?.routes.includes(SITE_A) ? true : undefined;
    }, 30_000, 500);
    expect(await run('ip', ['-n', 'cgwd-boxa', 'route', 'show', SITE_B])).toMatch(/dev cgw-t1 proto 199/);
    expect(await run('ip', ['-n', 'cgwd-boxb', 'route', 'show', SITE_A])).toMatch(/dev cgw-t1 proto 199/);
    // What the gateway sends site A for site B: site B's AS behind the Amazon ASN.
    const exported = await birdc(lab.state.stateDir, MULTI_BIRD, 'show', 'route', 'export', 'c1t1', SITE_B, 'all');
    // Learned from site B (AS 65001); the eBGP export to site A puts the Amazon ASN in front.
    expect(exported).toMatch(/BGP\.as_path: (64512 )?65001\n/);
    const [sa] = [await status(a)];
    expect(sa.tunnels[0]?.bgp?.peerAs).toBe(64512);
    const ab = await ping('cgwd-sitea', '198.18.64.10', 20, 0.05);
    const ba = await ping('cgwd-siteb', '192.0.2.10', 20, 0.05);
    expect([ab.received, ba.received]).toEqual([20, 20]);
  }, 180_000);

  it("an overlapping site prefix is refused at the other site and named in status (AWS requires unique prefixes per site)", async () => {
    const b = running.find((c) => c.namespace === 'cgwd-boxb');
    const a = running.find((c) => c.namespace === 'cgwd-boxa');
    expect(a && b).toBeTruthy();
    if (!a || !b) return;
    await b.process.stop();
    running.splice(running.indexOf(b), 1);
    const b2 = site('b', `${SITE_B},192.0.2.0/25`);
    await waitHealthy(b2);
    const refused = await waitFor('site A refuses the overlapping prefix', async () => {
      const r = (await status(a)).routeSafety.refused.find((x) => x.prefix === '192.0.2.0/25');
      return r;
    }, 60_000, 500);
    expect(refused.reason).toBe('site-prefix');
    expect(refused.detail).toMatch(/192\.0\.2\.0\/24.*another site.*unique prefix per site/);
    // The operator's view: the refusal and its reason in `cgwd status`.
    const text = await run('ip', ['netns', 'exec', 'cgwd-boxa', process.execPath, CLI, 'status', '--control-socket', a.socket]);
    expect(text).toMatch(/192\.0\.2\.0\/25\s+site-prefix/);
    // Why AWS forbids it: the gateway now sends 192.0.2.0/25 (longest match) to site B, not site A.
    expect(await run('ip', ['-n', 'cgwd-aws', 'route', 'show', '192.0.2.0/25'])).toMatch(/dev c2tun[12]/);
  }, 180_000);
});
