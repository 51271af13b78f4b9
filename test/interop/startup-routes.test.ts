/**
 * Routes go in at CHILD-up (root, static lab): a 10 ms ping from the site to the VPC, started the
 * moment both AWS's side (strongSwan) lists tunnel 1's CHILD SA as INSTALLED and cgwd has it, loses
 * nothing (with IKEv1 AWS's listing alone suffices; with IKEv2 AWS has it first, see below). Before, the route waited for the first answered
 * keepalive (~0.9 s) and those pings were lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { LAB_CONFIG_STATIC } from '../../src/lab/command.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { execInResult, waitFor } from '../../src/system/exec.js';
import { CgwdProcess } from './helpers/cgwd-process.js';
import { awsSas } from './helpers/swanctl-sas.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-startup-'));
let state: LabState;
const running: CgwdProcess[] = [];

beforeAll(async () => {
  state = await labUp({ config: loadConfig(LAB_CONFIG_STATIC), configPath: LAB_CONFIG_STATIC, options: { nat: false } });
}, 180_000);

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('traffic flows the moment the CHILD SA is installed', () => {
  for (const version of ['ikev2', 'ikev1'] as const) {
    it(`${version}: a ping started when AWS shows the SA loses nothing after cgwd has the SA`, async () => {
      await waitFor('no SA left at AWS from an earlier run', async () => ((await awsSas(state.stateDir, 1)).length === 0 ? true : undefined), 30_000, 200);
      const p = new CgwdProcess(
        NS.cgw,
        ['up', '--config', LAB_CONFIG_STATIC, '--static-route', '198.19.0.0/16', '--ike-version', version, '--control-socket', path.join(work, `${version}.sock`)],
        state.stateDir,
      );
      running.push(p);
      await waitFor(
        'tunnel 1 CHILD SA INSTALLED at AWS',
        async () => {
          if (p.exitCode !== null) throw new Error(`cgwd exited: ${p.stderr.slice(-1000)}`);
          return (await awsSas(state.stateDir, 1)).some((sa) => sa.children.some((c) => c.state === 'INSTALLED')) ? true : undefined;
        },
        60_000,
        20,
      );
      // IKEv2: AWS, the responder, installs its CHILD SA before its IKE_AUTH response reaches cgwd
      // (RFC 7296 §1.2), so "AWS shows it" can come tens of ms before cgwd has it; start when both do.
      // (IKEv1: AWS installs on cgwd's QM3, sent after cgwd installed.)
      if (version === 'ikev2') await p.waitFor('tunnel 1 CHILD SA up in cgwd', (e) => e.msg === 'CHILD SA up' && e.tunnel === 1, 30_000);
      const out = (await execInResult(NS.onprem, 'ping', ['-n', '-c', '100', '-i', '0.01', '-W', '1', '198.19.0.10'], 30_000)).stdout;
      const answered = new Set([...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
      const lost = Array.from({ length: 100 }, (_, i) => i + 1).filter((seq) => !answered.has(seq));
      console.log(`${version}: ${100 - lost.length}/100 pings answered, started when ${version === 'ikev2' ? 'AWS and cgwd' : 'AWS'} showed the CHILD SA; lost: ${lost.join(', ') || 'none'}`);
      expect(lost).toEqual([]);
    }, 120_000);
  }
});
