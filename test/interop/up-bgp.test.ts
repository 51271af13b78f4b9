/**
 * `cgwd up` with BGP in the lab: cgwd's speaker against BIRD as the AWS router
 * (Amazon ASN from the file) on each tunnel, strongSwan as the AWS tunnel
 * endpoints. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { birdc, cutTunnel, labDown, labUp, restartAwsBird, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, run, runCommand, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-bgp-'));
const controlSocket = path.join(work, 'cgwd.sock');
let state: LabState;
const running: CgwdProcess[] = [];

function up(extra: string[] = []): CgwdProcess {
  const p = new CgwdProcess(NS.cgw, ['up', '--config', LAB_CONFIG_BGP, '--keepalive-interval', '1', '--control-socket', controlSocket, ...extra], state.stateDir);
  running.push(p);
  return p;
}

async function status(): Promise<DaemonStatus> {
  return JSON.parse(await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket])) as DaemonStatus;
}

async function vpcRouteDevice(): Promise<string | undefined> {
  return /dev (\S+)/.exec(await run('ip', ['-n', NS.cgw, 'route', 'show', '198.19.0.0/16']))?.[1];
}

async function awsRoutes(): Promise<string> {
  return birdc(state.stateDir, 'bird-aws', 'show', 'route', 'all');
}

beforeAll(async () => {
  state = await labUp({ config: loadConfig(LAB_CONFIG_BGP), configPath: LAB_CONFIG_BGP, options: { nat: false } });
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('cgwd up with BGP, against BIRD and strongSwan as AWS', () => {
  it('refuses more than 100 advertised prefixes toward a VGW, with a clear message', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `10.${Math.floor(i / 250)}.${i % 250}.0/24`).join(',');
    const r = await runCommand('ip', ['netns', 'exec', NS.cgw, process.execPath, CLI, 'up', '--config', LAB_CONFIG_BGP, '--advertise', many]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/advertise.*100/i);
  });

  it('sessions on both tunnels; AWS learns the site with the prepend on the standby; cgwd installs the VPC; failover and recovery', async () => {
    const p = up(['--advertise', '192.0.2.0/24']);
    const s = await waitFor(
      'both BGP sessions Established and the VPC route on tunnel 1',
      async () => {
        if (p.exitCode !== null) throw new Error(`cgwd exited: ${p.stderr.slice(-1000)}`);
        const st = await status();
        return st.tunnels.every((t) => t.bgp?.state === 'Established') && (await vpcRouteDevice()) === 'cgw-t1' ? st : undefined;
      },
      60_000,
      500,
    );
    expect(s.tunnels.map((t) => [t.bgp?.localAs, t.bgp?.peerAs])).toEqual([[65000, 64512], [65000, 64512]]);
    expect(s.tunnels[0]?.routes).toEqual(['198.19.0.0/16']);
    const learned = await awsRoutes();
    expect(learned).toMatch(/192\.0\.2\.0\/24\s+unicast \[tunnel1[^\n]*\* \(100\) \[AS65000i\]/);
    expect(learned).toMatch(/BGP\.as_path: 65000 65000 65000 65000\n/); // tunnel 2: prepended three times
    const there = await ping(NS.onprem, '198.19.0.10', 10, 0.05);
    const back = await ping(NS.vpc, '192.0.2.10', 10, 0.05);
    expect([there.received, back.received]).toEqual([10, 10]);

    // Tunnel 1 cut silently: routes move to tunnel 2 on keepalive loss, and AWS is told at once with
    // more-specific halves over tunnel 2, so its return traffic moves without waiting for its hold timer.
    const cutAt = Date.now();
    await cutTunnel('203.0.113.10', true);
    await waitFor('VPC route on tunnel 2', async () => ((await vpcRouteDevice()) === 'cgw-t2' ? true : undefined), 20_000, 100);
    await waitFor('AWS routes the site halves over tunnel 2', async () => (/192\.0\.2\.128\/25\s+unicast \[tunnel2/.test(await awsRoutes()) ? true : undefined), 20_000, 100);
    await waitFor(
      'traffic both ways over tunnel 2',
      async () => {
        const r = await ping(NS.vpc, '192.0.2.10', 3, 0.1);
        return r.received === r.sent ? true : undefined;
      },
      20_000,
      200,
    );
    const recoveredMs = Date.now() - cutAt;
    console.log(`BGP failover: both directions over tunnel 2 ${recoveredMs} ms after tunnel 1 was cut (BGP hold time 30 s)`);
    expect(recoveredMs).toBeLessThan(15_000);

    // Tunnel 1 back: routes return, the halves are withdrawn.
    await cutTunnel('203.0.113.10', false);
    await waitFor('VPC route back on tunnel 1', async () => ((await vpcRouteDevice()) === 'cgw-t1' ? true : undefined), 150_000, 500);
    await waitFor('halves withdrawn', async () => (/192\.0\.2\.128\/25/.test(await awsRoutes()) ? undefined : true), 30_000, 500);

    // BIRD restarted: both sessions come back by themselves.
    await restartAwsBird(loadConfig(LAB_CONFIG_BGP));
    await waitFor(
      'sessions re-established after BIRD restarted',
      async () => ((await status()).tunnels.every((t) => t.bgp?.state === 'Established' && (t.bgp.establishedTransitions ?? 0) >= 2) ? true : undefined),
      60_000,
      500,
    );
    const again = await ping(NS.onprem, '198.19.0.10', 5, 0.1);
    expect(again.received).toBe(5);

    expect(await p.stop()).toBe(0);
    expect(await runCommand('ip', ['-n', NS.cgw, 'route', 'show', 'proto', '199']).then((r) => r.stdout.trim())).toBe('');
  });
});
