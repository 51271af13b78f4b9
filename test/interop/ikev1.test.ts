/**
 * IKEv1 (main mode, quick mode, NAT-T, DPD) against strongSwan playing AWS with
 * IKEv1, cgwd in the customer namespace. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { LAB_CONFIG_STATIC } from '../../src/lab/command.js';
import { labDown, labUp, reconfigureAws, restartAwsEndpoint, stopAwsEndpoint, swanctl, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { execInResult, sleep } from '../../src/system/exec.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { CLI, CgwdProcess, type CgwdEvent } from './helpers/cgwd-process.js';
import { swanEspSuite, swanIkeSuite, SWAN_DH_DISPLAY } from './helpers/strongswan-names.js';
import { awsSas, awsVici, type SwanIkeSa } from './helpers/swanctl-sas.js';
import { suiteName, writePinnedConfig, type PinnedSuite } from './helpers/suite-config.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-ikev1-'));
let state: LabState;
const running: CgwdProcess[] = [];

function cgwd(args: string[]): CgwdProcess {
  const p = new CgwdProcess(NS.cgw, args, state.stateDir);
  running.push(p);
  return p;
}

const childUp = (tunnel: number) => (e: CgwdEvent) => e.event === 'child-up' && e.tunnel === tunnel;

function established(sas: SwanIkeSa[]): SwanIkeSa {
  const sa = sas.find((s) => s.state === 'ESTABLISHED');
  if (!sa) throw new Error(`no ESTABLISHED IKE SA at AWS: ${JSON.stringify(sas)}`);
  return sa;
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

describe('IKEv1 against strongSwan as AWS', () => {
  // Every suite IKEv1 can negotiate with AWS: phase 1 AES-CBC × SHA1/SHA2 (no AEAD in IKEv1 phase 1), every phase 1
  // group; phase 2 additionally AES-GCM-16 and PFS group 5.
  const encryptions = ['aes128-cbc', 'aes256-cbc'] as const;
  const integrities = ['hmac-sha1-96', 'hmac-sha256-128', 'hmac-sha384-192', 'hmac-sha512-256'] as const;
  const suites: PinnedSuite[] = [];
  for (const e of encryptions) {
    for (const i of integrities) suites.push({ ikeEncryption: e, ikeIntegrity: i, ikeDh: 14, espEncryption: e, espIntegrity: i, pfsDh: 14, ikeVersion: 'ikev1' });
  }
  const groups = [2, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] as const;
  groups.forEach((g, n) => {
    const gcm = n % 2 === 0 ? 'aes256-gcm16' : 'aes128-gcm16';
    suites.push({ ikeEncryption: 'aes256-cbc', ikeIntegrity: 'hmac-sha256-128', ikeDh: g, espEncryption: gcm, espIntegrity: 'hmac-sha256-128', pfsDh: g === 2 ? 5 : g, ikeVersion: 'ikev1' });
  });
  for (const suite of suites) {
    it(`both tunnels, ${suiteName(suite)}; AWS rekeys phase 2 (PFS) and phase 1`, async () => {
      const file = writePinnedConfig(LAB_CONFIG_STATIC, path.join(work, 'pinned.json'), suite);
      await reconfigureAws(loadConfig(file), { nat: false });
      const p = cgwd(['negotiate', '--config', file, '--json']);
      const [c1] = await Promise.all([p.waitFor('tunnel 1', childUp(1), 30_000), p.waitFor('tunnel 2', childUp(2), 30_000)]);
      for (const index of [1, 2] as const) {
        const sa = established(await awsSas(state.stateDir, index));
        expect(sa.version).toBe('IKEv1');
        expect(sa.suite).toBe(swanIkeSuite(suite.ikeEncryption, suite.ikeIntegrity, suite.ikeDh));
        const child = sa.children.find((c) => c.state === 'INSTALLED');
        expect(child?.suite).toBe(`${swanEspSuite(suite.espEncryption, suite.espIntegrity)}/${SWAN_DH_DISPLAY[suite.pfsDh]}`);
      }
      expect(established(await awsSas(state.stateDir, 1)).children.find((c) => c.state === 'INSTALLED')?.spiIn).toBe(c1.spiOut);
      await swanctl(awsVici(state.stateDir, 1), '--rekey', '--child', 'aws');
      const rekeyed = await p.waitFor('phase 2 rekey by AWS', (e) => e.event === 'child-rekeyed' && e.tunnel === 1, 20_000);
      expect(rekeyed.initiatedByUs).toBe(false);
      await swanctl(awsVici(state.stateDir, 1), '--rekey', '--ike', 'aws');
      await p.waitFor('phase 1 re-established by AWS', (e) => (e.event === 'ike-rekeyed' || e.event === 'ike-up') && e.tunnel === 1 && Number(e.ms) > Number(rekeyed.ms), 20_000);
      await sleep(1_000);
      // The phase 2 SA survived the phase 1 rekey.
      expect(p.events.filter((e) => e.event === 'child-down' && e.tunnel === 1 && !/rekey|replaced/i.test(String(e.reason)))).toEqual([]);
      expect(await p.stop()).toBe(0);
    });
  }

  it('cgwd up with IKEv1 carries traffic; rekeys from AWS under traffic lose no pings; a stopped endpoint is declared dead and comes back', async () => {
    await reconfigureAws(loadConfig(LAB_CONFIG_STATIC), { nat: false });
    const socket = path.join(work, 'cgwd.sock');
    // Short lifetimes of our own so that cgwd also rekeys both phases itself during the test.
    const p = cgwd(['up', '--config', LAB_CONFIG_STATIC, '--ike-version', 'ikev1', '--static-route', '198.19.0.0/16', '--control-socket', socket,
      '--child-lifetime', '30', '--ike-lifetime', '60', '--rekey-margin', '5', '--rekey-fuzz', '0']);
    const pingOk = async (): Promise<boolean> => (await execInResult(NS.onprem, 'ping', ['-c', '1', '-W', '1', '198.19.0.10'])).code === 0;
    const deadline = Date.now() + 60_000;
    while (!(await pingOk())) {
      if (Date.now() > deadline) throw new Error(`no traffic through cgwd (IKEv1): ${p.stderr.slice(-1000)}`);
      await sleep(500);
    }
    await sleep(3_000); // both tunnels up and healthy, routes settled on tunnel 1
    // 20 ms pings from the site while AWS rekeys phase 2, then phase 1, of tunnel 1.
    for (const what of ['--child', '--ike']) {
      const pinging = execInResult(NS.onprem, 'ping', ['-n', '-i', '0.02', '-c', '200', '-W', '1', '198.19.0.10'], 60_000);
      await sleep(1_500);
      await swanctl(awsVici(state.stateDir, 1), '--rekey', what, 'aws');
      const out = (await pinging).stdout;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      const missing = [...Array(200).keys()].map((i) => i + 1).filter((seq) => !out.includes(`icmp_seq=${seq} `));
      console.log(`IKEv1 rekey ${what} by AWS under traffic: ${m?.[2]}/${m?.[1]} pings answered; missing ${missing.join(',')}`);
      expect(Number(m?.[2])).toBe(Number(m?.[1]));
    }
    // cgwd's own rekeys (phase 2 every 25 s, phase 1 55 s after each ISAKMP SA) under 50 ms pings for 60 s.
    const rekeys = async (): Promise<number> => {
      const st = JSON.parse((await execInResult(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', socket])).stdout) as DaemonStatus;
      const c = st.tunnels[0]?.ike?.counters;
      return (c?.childRekeys ?? 0) + (c?.ikeRekeys ?? 0);
    };
    const before = await rekeys();
    const long = (await execInResult(NS.onprem, 'ping', ['-n', '-D', '-i', '0.05', '-c', '1200', '-W', '1', '198.19.0.10'], 120_000)).stdout;
    const lm = /(\d+) packets transmitted, (\d+) received/.exec(long);
    const after = await rekeys();
    const lost = [...Array(1200).keys()].map((i) => i + 1).filter((seq) => !long.includes(`icmp_seq=${seq} `));
    // Where a lost ping fell among cgwd's SA changes (wall-clock ms, from ping -D and the log's time).
    const answeredAt = [...long.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+) /gm)].map((m) => [Number(m[2]), Number(m[1]) * 1000] as const);
    const around = lost.map((seq) => {
      const near = answeredAt.reduce((best, a) => (Math.abs(a[0] - seq) < Math.abs(best[0] - seq) ? a : best), answeredAt[0] ?? [seq, 0]);
      const at = near[1] + (seq - near[0]) * 50;
      const logged = (e: CgwdEvent): number => Date.parse(String(e.time));
      const saEvents = p.events.filter((e) => Math.abs(logged(e) - at) < 3_000 && /SA|rekey|Delete|ISAKMP|keepalive/i.test(String(e.msg)));
      return `#${seq} at ${Math.round(at)}: ${saEvents.map((e) => `${Math.round(logged(e) - at)} ms ${String(e.msg)} t${String(e.tunnel ?? '-')}`).join(' | ')}`;
    });
    console.log(`IKEv1 rekeys by cgwd under traffic: ${after - before} rekeys, ${lm?.[2]}/${lm?.[1]} pings answered${around.length ? `; lost ${around.join('; ')}` : ''}`);
    expect(after - before).toBeGreaterThanOrEqual(2);
    expect(Number(lm?.[2])).toBe(Number(lm?.[1]));

    const stoppedAt = Date.now();
    await stopAwsEndpoint(2);
    const down = await p.waitFor('tunnel 2 declared dead', (e) => e.msg === 'IKE SA down' && e.tunnel === 2 && e.code === 'IKE_PEER_UNREACHABLE', 60_000);
    console.log(`IKEv1 DPD: tunnel 2 declared dead ${Date.now() - stoppedAt} ms after its AWS endpoint stopped`);
    expect(down).toBeDefined();
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(10_000 * 3 + 2_000);
    await restartAwsEndpoint(loadConfig(LAB_CONFIG_STATIC), 2);
    await p.waitFor('tunnel 2 back', (e) => e.msg === 'CHILD SA up' && e.tunnel === 2 && Date.now() - stoppedAt > 0, 120_000, p.events.indexOf(down));
    expect(await p.stop()).toBe(0);
  });

  it('through NAT', async () => {
    state = await labUp({ config: loadConfig(LAB_CONFIG_STATIC), configPath: LAB_CONFIG_STATIC, options: { nat: true } });
    const p = cgwd(['negotiate', '--config', LAB_CONFIG_STATIC, '--ike-version', 'ikev1', '--json']);
    await Promise.all([p.waitFor('tunnel 1', childUp(1), 30_000), p.waitFor('tunnel 2', childUp(2), 30_000)]);
    const raw = await swanctl(awsVici(state.stateDir, 1), '--list-sas', '--raw');
    expect(raw).toMatch(/version=1/);
    expect(raw).toMatch(/nat-remote=yes/);
    expect(raw).toMatch(/remote-host=198\.51\.100\.10/);
    expect(await p.stop()).toBe(0);
  });
});
