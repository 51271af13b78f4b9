/**
 * NAT rebinding in the lab (RFC 7296 §2.23): cgwd behind the lab's source NAT, static routing,
 * strongSwan as AWS, default keepalive (0.2 s × 3). The NAT forgets its mappings while the VPC
 * pings the site; cgwd's datagrams get a new public port, and AWS answers the old one until an
 * authenticated IKE message arrives from the new one. cgwd notices from its probes and sends
 * one at once: traffic resumes long before DPD (10 s) would have, on the new port. The figure
 * is printed by `npm run bench -- --failover-only`. Needs root and conntrack(8).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { LAB_CONFIG_STATIC } from '../../src/lab/command.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { forgetNatMappings, natPublicPorts } from '../../src/lab/nat-rebind.js';
import { buildLabPlan, NS } from '../../src/lab/plan.js';
import { execIn, execInResult, sleep, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-nat-'));
const controlSocket = path.join(work, 'cgwd.sock');
let state: LabState;
let cgwd: CgwdProcess | undefined;

async function status(): Promise<DaemonStatus> {
  const out = await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket]);
  return JSON.parse(out) as DaemonStatus;
}

beforeAll(async () => {
  const config = loadConfig(LAB_CONFIG_STATIC);
  state = await labUp({ config, configPath: LAB_CONFIG_STATIC, options: { nat: true } });
});

afterAll(async () => {
  await cgwd?.stop();
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('NAT rebinding behind the lab NAT', () => {
  it('the NAT forgets its mappings: cgwd tells AWS its new port at once and traffic resumes within 2 s', async () => {
    cgwd = new CgwdProcess(NS.cgw, ['up', '--config', LAB_CONFIG_STATIC, '--static-route', '198.19.0.0/16', '--control-socket', controlSocket, '--log-level', 'info'], state.stateDir);
    await waitFor(
      'tunnel 1 healthy behind the NAT',
      async () => {
        if (cgwd!.exitCode !== null) throw new Error(`cgwd exited: ${cgwd!.stderr.slice(-1500)}`);
        const s = await status();
        return s.tunnels[0]?.ike?.state === 'established' && s.tunnels[0].keepalive.healthy ? s : undefined;
      },
      60_000,
      250,
    );
    const s = await status();
    expect(JSON.stringify(s.tunnels[0]?.ike)).toContain('"natLocal":true');
    const plan = buildLabPlan(loadConfig(LAB_CONFIG_STATIC), state.options);
    const cgwAddress = plan.customerTransit.cgw;
    const before = await natPublicPorts(cgwAddress);
    expect(before.length).toBeGreaterThan(0);

    // The VPC pings the site every 10 ms for 8 s; the NAT forgets its mappings 2 s in.
    const pinging = execInResult(NS.vpc, 'ping', ['-n', '-D', '-i', '0.01', '-W', '1', '-c', '800', '192.0.2.10'], 60_000);
    await sleep(2_000);
    await forgetNatMappings(cgwAddress, plan.customerOutside);
    const r = await pinging;
    const replies = [...r.stdout.matchAll(/^\[(\d+\.\d+)\] .*icmp_seq=(\d+)/gm)].map((m) => Number(m[1]) * 1000);
    let gapMs = 0;
    for (let i = 1; i < replies.length; i++) gapMs = Math.max(gapMs, replies[i]! - replies[i - 1]!);
    const after = await natPublicPorts(cgwAddress);
    console.log(`NAT rebinding: public ports ${before.join(',')} -> ${after.join(',')}; longest gap between replies ${Math.round(gapMs)} ms; ${replies.length}/800 answered`);

    // The NAT did rebind: a public port cgwd had before is gone.
    expect(after.some((p) => !before.includes(p))).toBe(true);
    // cgwd sent its IKE liveness message for it ...
    expect(cgwd.events.some((e) => typeof e.msg === 'string' && e.msg.startsWith('tunnel silent behind a NAT') && e.tunnel === 1)).toBe(true);
    // ... and traffic came back well before DPD would have moved AWS (10 s in the lab).
    expect(gapMs).toBeLessThan(5_000);
    expect(replies.length).toBeGreaterThan(600);
  });
});
