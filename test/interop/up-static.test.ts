/**
 * `cgwd up` in the lab, static routing: cgwd's native data plane as the customer
 * gateway, strongSwan (kernel-libipsec) as AWS. Needs root.
 *
 * AWS-side behaviour the lab emulates: it routes the site's prefix over a tunnel
 * whose CHILD SA is up (tunnel 1 preferred), and its DPD gives up about 30 s after
 * the first unanswered probe — so after a silent cut the AWS→site direction
 * recovers only then; cgwd's own direction moves as soon as its keepalives fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { LAB_CONFIG_STATIC } from '../../src/lab/command.js';
import { cutTunnel, labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, run, runCommand, sleep, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';
import { awsSas } from './helpers/swanctl-sas.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-up-'));
const controlSocket = path.join(work, 'cgwd.sock');
let state: LabState;
const running: CgwdProcess[] = [];

function up(extra: string[] = []): CgwdProcess {
  const p = new CgwdProcess(
    NS.cgw,
    ['up', '--config', LAB_CONFIG_STATIC, '--static-route', '198.19.0.0/16', '--keepalive-interval', '1', '--control-socket', controlSocket, '--log-level', 'info', ...extra],
    state.stateDir,
  );
  running.push(p);
  return p;
}

async function status(): Promise<DaemonStatus> {
  const out = await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket]);
  return JSON.parse(out) as DaemonStatus;
}

async function routeDevice(): Promise<string | undefined> {
  const out = await run('ip', ['-n', NS.cgw, 'route', 'show', '198.19.0.0/16']);
  return /dev (\S+)/.exec(out)?.[1];
}

/** Waits until both tunnels have an installed CHILD SA and answered keepalives, and routes are on `device`. */
async function converged(p: CgwdProcess, device = 'cgw-t1'): Promise<DaemonStatus> {
  return waitFor(
    `both tunnels healthy and routes on ${device}`,
    async () => {
      if (p.exitCode !== null) throw new Error(`cgwd exited (${p.exitCode}): ${p.stderr.slice(-1500)}`);
      const s = await status();
      const healthy = s.tunnels.every((t) => t.ike?.state === 'established' && t.keepalive.healthy);
      return healthy && (await routeDevice()) === device ? s : undefined;
    },
    60_000,
    500,
  );
}

beforeAll(async () => {
  state = await labUp({ config: loadConfig(LAB_CONFIG_STATIC), configPath: LAB_CONFIG_STATIC, options: { nat: false } });
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('cgwd up with static routing, against strongSwan as AWS', () => {
  it('connects the site through both tunnels, survives a cut tunnel, and exits cleanly', async () => {
    const p = up();
    const s = await converged(p, 'cgw-t1');
    expect(s.routing).toBe('static');
    expect(s.tunnels.map((t) => t.interface)).toEqual(['cgw-t1', 'cgw-t2']);
    expect(s.staticRoutes?.active).toBe(1);
    for (const t of s.tunnels) {
      const child = t.ike?.ikeSas.find((sa) => sa.current)?.children.find((c) => c.installed);
      expect(child).toBeDefined();
      // What cgwd sends on is what strongSwan receives on.
      const aws = (await awsSas(state.stateDir, t.tunnel as 1 | 2)).find((sa) => sa.state === 'ESTABLISHED');
      expect(aws?.children.find((c) => c.state === 'INSTALLED')?.spiIn).toBe(child?.spiOut);
      expect(t.mtu).toBe(1422); // AES-CBC + HMAC-SHA1-96 over NAT-T (aws-peer.md §4)
    }

    // The site reaches the VPC and back, through cgwd's data plane.
    const there = await ping(NS.onprem, '198.19.0.10', 20, 0.05);
    const back = await ping(NS.vpc, '192.0.2.10', 20, 0.05);
    expect([there.received, back.received]).toEqual([20, 20]);
    const t1 = (await status()).tunnels[0];
    expect(t1?.traffic?.packetsOut).toBeGreaterThanOrEqual(40);
    expect(t1?.traffic?.packetsIn).toBeGreaterThanOrEqual(40);

    // Human status names the ladder.
    const text = await execIn(NS.cgw, process.execPath, [CLI, 'status', '--control-socket', controlSocket]);
    expect(text).toMatch(/1 IKE SA\s+established/);
    expect(text).toMatch(/2 CHILD SA\s+installed/);
    expect(text).toMatch(/3 keepalive\s+answered/);
    expect(text).toMatch(/4 routes\s+active: 198\.19\.0\.0\/16/);

    // Tunnel 1 cut silently in the internet: cgwd moves its routes to tunnel 2 when keepalives fail.
    const cutAt = Date.now();
    await cutTunnel('203.0.113.10', true);
    await waitFor('routes on tunnel 2', async () => ((await routeDevice()) === 'cgw-t2' ? true : undefined), 30_000, 100);
    const movedMs = Date.now() - cutAt;
    console.log(`static failover: routes moved to tunnel 2 ${movedMs} ms after tunnel 1 was cut`);
    expect(movedMs).toBeLessThan(10_000);
    // Both directions work again once AWS's DPD also gave up on tunnel 1 (its static route follows the SA).
    await waitFor(
      'traffic over tunnel 2 both ways',
      async () => {
        const r = await ping(NS.onprem, '198.19.0.10', 3, 0.2);
        return r.received === r.sent ? true : undefined;
      },
      90_000,
      1_000,
    );
    const viaTunnel2 = await ping(NS.vpc, '192.0.2.10', 10, 0.05);
    expect(viaTunnel2.received).toBe(10);
    await cutTunnel('203.0.113.10', false);

    // SIGTERM: SAs deleted at AWS, interfaces and routes gone, exit 0.
    expect(await p.stop()).toBe(0);
    const links = await run('ip', ['-n', NS.cgw, 'link', 'show']);
    expect(links).not.toMatch(/cgw-t[12]/);
    expect(await runCommand('ip', ['-n', NS.cgw, 'route', 'show', 'proto', '199']).then((r) => r.stdout.trim())).toBe('');
    await sleep(500);
    expect((await awsSas(state.stateDir, 2)).filter((sa) => sa.state === 'ESTABLISHED')).toEqual([]);
  });

  it('stays up when idle for 60 s (keepalives), and restarts cleanly after being killed', async () => {
    let p = up();
    const before = await converged(p, 'cgw-t1');
    const reconnects = (s: DaemonStatus) => s.tunnels.map((t) => t.ike?.counters.reconnects ?? -1);
    await sleep(60_000);
    const after = await status();
    expect(after.tunnels.every((t) => t.ike?.state === 'established' && t.keepalive.healthy)).toBe(true);
    expect(reconnects(after)).toEqual(reconnects(before));
    expect(after.tunnels[0]?.keepalive.sent).toBeGreaterThanOrEqual(50);
    const r = await ping(NS.onprem, '198.19.0.10', 5, 0.1);
    expect(r.received).toBe(5);

    // A crash (SIGKILL): the next start finds no stale interface or route in its way.
    process.kill(p.pid, 'SIGKILL');
    await waitFor('cgwd gone', async () => (p.exitCode !== null ? true : undefined), 5_000);
    p = up();
    await converged(p, 'cgw-t1');
    const again = await ping(NS.onprem, '198.19.0.10', 5, 0.1);
    expect(again.received).toBe(5);
  });
});
