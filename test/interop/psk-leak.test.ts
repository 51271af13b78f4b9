/**
 * No secret in any output (issue 13): the lab's main job — `cgwd up` through both tunnels,
 * traffic, a CHILD rekey, `cgwd status` (text and JSON), /metrics, `cgwd show`, a refused
 * configuration, and the daemon's own stdout/stderr until it stops — is searched for the lab's
 * pre-shared keys and for every key the AWS side derived (strongSwan logs them at level 4 for
 * the lab only, test/interop/helpers/strongswan-keys.ts): none may appear, in hex (either case)
 * or base64. No --keylog is given, as in production.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { labDown, labUp, swanctl, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, runCommand, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';
import { parseDumps } from './helpers/strongswan-keys.js';
import { awsVici } from './helpers/swanctl-sas.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-leak-'));
const controlSocket = path.join(work, 'cgwd.sock');
const config = loadConfig(LAB_CONFIG_BGP);
let state: LabState;

beforeAll(async () => {
  state = await labUp({ config, configPath: LAB_CONFIG_BGP, options: { nat: false }, awsLogLevel: 4 });
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<string> {
  const r = await runCommand('ip', ['netns', 'exec', NS.cgw, process.execPath, CLI, ...args]);
  return `${r.stdout}\n${r.stderr}`;
}

describe('secrets in outputs', () => {
  it('the lab main job prints, logs and serves neither a PSK nor a derived key', async () => {
    const outputs: Record<string, string> = {};
    const p = new CgwdProcess(NS.cgw, ['up', '--config', LAB_CONFIG_BGP, '--advertise', '192.0.2.0/24', '--keepalive-interval', '1', '--control-socket', controlSocket], state.stateDir);
    try {
      await waitFor('both BGP sessions Established', async () => {
        if (p.exitCode !== null) throw new Error(`cgwd exited: ${p.stderr.slice(-1000)}`);
        const r = await runCommand('ip', ['netns', 'exec', NS.cgw, process.execPath, CLI, 'status', '--json', '--control-socket', controlSocket]);
        if (r.code !== 0) return undefined;
        const s = JSON.parse(r.stdout) as { tunnels: { bgp?: { state: string } }[] };
        return s.tunnels.every((t) => t.bgp?.state === 'Established') ? true : undefined;
      }, 90_000, 500);
      const there = await ping(NS.onprem, '198.19.0.10', 10, 0.05);
      expect(there.received).toBe(there.sent);
      await swanctl(awsVici(state.stateDir, 1), '--rekey', '--child', 'aws');
      await p.waitFor('CHILD rekey from AWS', (e) => e.event === 'child-rekeyed' || (typeof e.msg === 'string' && /rekey/i.test(e.msg)), 30_000).catch(() => undefined);
      outputs.statusText = await cli('status', '--control-socket', controlSocket);
      outputs.statusJson = await cli('status', '--json', '--control-socket', controlSocket);
      outputs.metrics = await execIn(NS.cgw, process.execPath, ['-e', "fetch('http://127.0.0.1:9580/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
      outputs.show = await cli('show', '--config', LAB_CONFIG_BGP);
      outputs.showJson = await cli('show', '--json', '--config', LAB_CONFIG_BGP);
      // An error that must name the field without its value: a PSK made invalid (starts with 0).
      const broken = path.join(work, 'broken.xml');
      const psk = config.tunnels[0]?.psk.reveal() ?? '';
      writeFileSync(broken, readFileSync(LAB_CONFIG_BGP, 'utf8').replace(psk, `0${psk}`));
      outputs.validateError = await cli('validate', '--config', broken);
    } finally {
      await p.stop();
    }
    outputs.daemon = `${p.events.map((e) => JSON.stringify(e)).join('\n')}\n${p.stderr}`;
    expect(outputs.statusJson).toContain('"tunnels"');
    expect(outputs.validateError).toMatch(/psk|pre.?shared/i);

    const psks = config.tunnels.map((t) => t.psk.reveal());
    const keys = [1, 2].flatMap((i) => parseDumps(readFileSync(path.join(state.stateDir, `aws${i}`, 'charon.log'), 'utf8')))
      .filter((d) => /secret|key/i.test(d.label) && d.hex.length >= 32)
      .map((d) => d.hex);
    expect(keys.length).toBeGreaterThanOrEqual(14); // SK_* of both IKE SAs at least
    const needles = [
      ...psks.map((s) => ({ what: 'a PSK', text: s })),
      ...keys.flatMap((hex) => [
        { what: 'a derived key (hex)', text: hex.toLowerCase() },
        { what: 'a derived key (HEX)', text: hex.toUpperCase() },
        { what: 'a derived key (base64)', text: Buffer.from(hex, 'hex').toString('base64') },
      ]),
    ];
    const found: string[] = [];
    for (const [name, text] of Object.entries(outputs)) {
      for (const needle of needles) if (text.includes(needle.text)) found.push(`${needle.what} in ${name}`);
    }
    console.log(`searched ${Object.keys(outputs).length} outputs (${Object.values(outputs).reduce((n, t) => n + t.length, 0)} characters) for ${psks.length} PSKs and ${keys.length} derived keys: ${found.length} found`);
    expect(found).toEqual([]);
  });
});
