/**
 * Reload in the lab (SIGHUP's twin, `cgwd reload`), against strongSwan and BIRD as AWS, with a
 * copy of the lab's BGP file that the test edits as AWS would change it:
 *   a broken file changes nothing; a new advertise list reaches AWS without a session reset;
 *   a new pre-shared key on tunnel 1 (AWS first, as ModifyVpnTunnelOptions does) renegotiates
 *   tunnel 1 only while tunnel 2 keeps its SAs and loses no ping; a new Amazon ASN restarts the
 *   BGP sessions one after the other. Needs root.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus, TunnelStatus } from '../../src/daemon/status.js';
import type { ReloadResult } from '../../src/daemon/reload.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { birdc, labDown, labUp, restartAwsBird, restartAwsEndpoint, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { execIn, execInResult, runCommand, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-reload-'));
const controlSocket = path.join(work, 'cgwd.sock');
const configPath = path.join(work, 'vpn-config.xml');
const settingsPath = path.join(work, 'settings.json');
const original = readFileSync(LAB_CONFIG_BGP, 'utf8');
let state: LabState;
let p: CgwdProcess | undefined;

async function status(): Promise<DaemonStatus> {
  return JSON.parse(await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket])) as DaemonStatus;
}

async function reload(): Promise<{ code: number; result: ReloadResult | undefined; stderr: string }> {
  const r = await runCommand('ip', ['netns', 'exec', NS.cgw, process.execPath, CLI, 'reload', '--json', '--control-socket', controlSocket], 200_000);
  return { code: r.code, result: r.code === 0 ? (JSON.parse(r.stdout) as ReloadResult) : undefined, stderr: r.stderr };
}

/** The SPIs a tunnel runs on now: unchanged means untouched. */
function spis(t: TunnelStatus | undefined): string {
  const ike = t?.ike?.ikeSas.find((s) => s.current);
  const child = ike?.children.find((c) => c.installed);
  return `${ike?.spiI}/${ike?.spiR} ${child?.spiIn}/${child?.spiOut}`;
}

/** 10 pings/s from cgwd's namespace to an AWS inside address: through that one tunnel only. */
function pingThrough(address: string, seconds: number): Promise<{ sent: number; received: number }> {
  const count = seconds * 10;
  return execInResult(NS.cgw, 'ping', ['-n', '-q', '-i', '0.1', '-c', String(count), '-W', '1', address], (seconds + 10) * 1000).then((r) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
  });
}

async function bothEstablished(peerAs: number): Promise<DaemonStatus> {
  return waitFor(
    `both BGP sessions Established with AS ${peerAs} and the VPC route installed`,
    async () => {
      if (p?.exitCode !== null) throw new Error(`cgwd exited: ${p?.stderr.slice(-1000)}`);
      const st = await status();
      const ok = st.tunnels.every((t) => t.bgp?.state === 'Established' && t.bgp.peerAs === peerAs) && st.tunnels.some((t) => t.routes.includes('198.19.0.0/16'));
      return ok ? st : undefined;
    },
    90_000,
    500,
  );
}

beforeAll(async () => {
  copyFileSync(LAB_CONFIG_BGP, configPath);
  writeFileSync(settingsPath, JSON.stringify({ advertise: ['192.0.2.0/24'] }));
  state = await labUp({ config: loadConfig(configPath), configPath, options: { nat: false } });
  p = new CgwdProcess(NS.cgw, ['up', '--config', configPath, '--settings', settingsPath, '--keepalive-interval', '1', '--control-socket', controlSocket], state.stateDir);
  await bothEstablished(64512);
});

afterAll(async () => {
  await p?.stop();
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('cgwd reload, against strongSwan and BIRD as AWS', () => {
  it('a broken file, or one a running cgwd cannot take, changes nothing: exit 1 with the problems, status says why', async () => {
    const before = await status();
    writeFileSync(configPath, original.replace(/<pre_shared_key>[^<]*<\/pre_shared_key>/, '<pre_shared_key>Zq7x</pre_shared_key>').replace('<asn>64512</asn>', '<asn>not-a-number</asn>'));
    const r = await reload();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/reload failed, nothing changed \(\d+ problems?\)/);
    expect(r.stderr).toMatch(/asn/i);
    expect(r.stderr).not.toContain('Zq7x'); // a secret's value is never echoed
    const after = await status();
    expect(after.reload.last).toMatchObject({ outcome: 'invalid' });
    expect(after.reload.last?.problems?.length).toBeGreaterThan(0);
    expect(after.tunnels.map(spis)).toEqual(before.tunnels.map(spis));

    // A valid file that a running cgwd cannot take (another AWS endpoint address): refused, nothing changed.
    writeFileSync(configPath, original.replaceAll('203.0.113.20', '203.0.113.21'));
    const moved = await reload();
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/reload refused, nothing changed \(1 reason\):\n {2}a tunnel outside address changed/);
    const still = await status();
    expect(still.reload.last).toMatchObject({ outcome: 'refused' });
    expect(still.tunnels.map(spis)).toEqual(before.tunnels.map(spis));
    writeFileSync(configPath, original);
  });

  it('a new advertise list (and the standby-box prepend) reaches AWS as UPDATEs, without a session reset', async () => {
    const before = await status();
    writeFileSync(settingsPath, JSON.stringify({ advertise: ['192.0.2.0/24', '198.18.5.0/24'], asPathPrepend: 2 }));
    const r = await reload();
    expect(r.code, r.stderr).toBe(0);
    expect(r.result?.outcome).toBe('applied');
    const learned = await waitFor(
      'AWS learns 198.18.5.0/24 with two extra prepends on both tunnels',
      async () => {
        const routes = await birdc(state.stateDir, 'bird-aws', 'show', 'route', 'all', '198.18.5.0/24');
        return routes.includes('BGP.as_path: 65000 65000 65000\n') ? routes : undefined;
      },
      20_000,
      250,
    );
    // Tunnel 1: our AS and 2 extra; tunnel 2 (the standby tunnel): and its own 3 on top.
    expect(learned).toMatch(/BGP\.as_path: (65000 ){5}65000\n/);
    const after = await status();
    for (const [i, t] of after.tunnels.entries()) {
      expect(t.bgp?.state).toBe('Established');
      // The session kept running: its uptime grew with the wall clock, it did not restart.
      expect(t.bgp?.uptimeSeconds ?? 0).toBeGreaterThanOrEqual(before.tunnels[i]?.bgp?.uptimeSeconds ?? Infinity);
    }
    expect(after.tunnels.map(spis)).toEqual(before.tunnels.map(spis));
  });

  it('a new pre-shared key on tunnel 1: tunnel 1 renegotiates with it, tunnel 2 keeps its SAs and loses no ping', async () => {
    const before = await status();
    const rotated = original.replace('LabTunnelOne.psk_4f1c9a7e2b6d8', 'LabTunnelOne.rotated_7a2c5e9b1d3f6');
    writeFileSync(configPath, rotated);
    // AWS changes first (its endpoint restarts with the new key); cgwd's tunnel 1 cannot come back until the reload.
    await restartAwsEndpoint(loadConfig(configPath), 1, state.stateDir);
    const tunnel2 = before.tunnels[1]?.peerInsideAddress ?? '';
    const pinging = pingThrough(tunnel2, 40);
    const r = await reload();
    const pings = await pinging;
    console.log(`reload with a new PSK on tunnel 1: ${r.result?.summary}; tunnel 2 ${pings.received}/${pings.sent} pings answered`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result?.outcome).toBe('applied');
    expect(r.result?.tunnels.find((t) => t.tunnel === 1)).toMatchObject({ ok: true, actions: ['reauthenticated'], fields: ['psk'] });
    expect(r.result?.tunnels.find((t) => t.tunnel === 2)).toMatchObject({ ok: true, actions: [] });
    expect(pings.sent).toBe(400);
    expect(pings.received).toBe(pings.sent);
    const after = await status();
    expect(spis(after.tunnels[1])).toBe(spis(before.tunnels[1]));
    expect(spis(after.tunnels[0])).not.toBe(spis(before.tunnels[0]));
    expect(after.tunnels[0]?.ike?.state).toBe('established');
    expect(JSON.stringify(after)).not.toContain('rotated_7a2c5e9b1d3f6');
  });

  it('a new Amazon ASN: both BGP sessions restart one after the other with it; the tunnels keep carrying', async () => {
    const before = await status();
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replaceAll('<asn>64512</asn>', '<asn>64513</asn>'));
    await restartAwsBird(loadConfig(configPath), state.stateDir);
    const [in1, in2] = [before.tunnels[0]?.peerInsideAddress ?? '', before.tunnels[1]?.peerInsideAddress ?? ''];
    const pinging = Promise.all([pingThrough(in1, 30), pingThrough(in2, 30)]);
    const r = await reload();
    const pings = await pinging;
    console.log(`reload with a new Amazon ASN: ${r.result?.summary}; pings through tunnel 1 ${pings[0].received}/${pings[0].sent}, tunnel 2 ${pings[1].received}/${pings[1].sent}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result?.outcome).toBe('applied');
    for (const t of r.result?.tunnels ?? []) expect(t).toMatchObject({ ok: true, actions: ['BGP restarted'] });
    expect(r.result?.tunnels).toHaveLength(2);
    for (const ping of pings) expect(ping.received).toBe(ping.sent);
    const after = await bothEstablished(64513);
    expect(after.tunnels.map(spis)).toEqual(before.tunnels.map(spis));
  });
});
