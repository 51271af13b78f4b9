/**
 * The emulated-AWS lab proves itself with strongSwan + BIRD as the customer side
 * (the reference run of issue 2). Needs root: creates network namespaces cgwd-*.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { LAB_CONFIG_BGP, LAB_CONFIG_STATIC, cgwdRun, referenceRun } from '../../src/lab/command.js';
import { isAlive, run } from '../../src/system/exec.js';
import { labDown, labStatus, labUp, readLabState, swanctl } from '../../src/lab/lab.js';
import { ALL_NAMESPACES, NS, buildLabPlan } from '../../src/lab/plan.js';
import { ping, startReferenceCustomer, useTunnel } from '../../src/lab/reference.js';

const quiet = { out: () => {}, err: () => {} };

async function labNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => ALL_NAMESPACES.includes(n));
}

describe('emulated-AWS lab (root, network namespaces)', () => {
  afterAll(async () => {
    await labDown();
  });

  it('runs as root', () => {
    expect(process.getuid?.()).toBe(0);
  });

  it('BGP file: strongSwan + BIRD customer reaches the VPC through each tunnel, routes exchanged', async () => {
    const rows = await referenceRun({ config: LAB_CONFIG_BGP }, quiet, true);
    expect(rows.map((r) => r.tunnel)).toEqual([1, 2]);
    for (const r of rows) {
      expect(r.onpremToVpc.received).toBe(r.onpremToVpc.sent);
      expect(r.vpcToOnprem.received).toBe(r.vpcToOnprem.sent);
      expect(r.onpremToVpc.sent).toBeGreaterThan(0);
      // Six echo requests and replies crossed this tunnel's AWS endpoint at least.
      expect(r.espPacketsAtAws).toBeGreaterThanOrEqual(6);
    }
    // The AWS router learned the on-prem prefix from the customer over BGP (tunnel 2 is the last one up).
    const awsRoutes = await run('ip', ['-n', NS.aws, 'route', 'show', '192.0.2.0/24']);
    expect(awsRoutes).toMatch(/via 169\.254\.20\.2 dev tun2 proto bird/);
    const cgwRoutes = await run('ip', ['-n', NS.cgw, 'route', 'show', '198.19.0.0/16']);
    expect(cgwRoutes).toMatch(/via 169\.254\.20\.1 dev ipsec0 proto bird/);
    const status = await labStatus();
    expect(status.up).toBe(true);
    expect(status.tunnels.find((t) => t.index === 2)?.ikeSa).toBe('ESTABLISHED IKEv2');
    expect(status.tunnels.find((t) => t.index === 2)?.childSa).toMatch(/^INSTALLED ESP:AES_CBC-128\/HMAC_SHA1_96/);
    expect(status.bgp.find((b) => b.name === 'tunnel2')?.info).toBe('Established');
  });

  it('NAT in inet: the AWS side sees the customer behind NAT and traffic still flows', async () => {
    const config = loadConfig(LAB_CONFIG_BGP);
    const state = await labUp({ config, configPath: LAB_CONFIG_BGP, options: { nat: true } });
    const plan = buildLabPlan(config, { nat: true });
    const ref = await startReferenceCustomer(plan, state.stateDir);
    await useTunnel(ref, 1);
    const raw = await swanctl({ vici: `unix://${state.stateDir}/aws1/charon.vici` }, '--list-sas', '--raw');
    expect(raw).toMatch(/nat-remote=yes/);
    // The customer's real address is the private transit one; AWS sees the registered public address.
    expect(raw).toMatch(/remote-host=198\.51\.100\.10/);
    const cgwAddresses = await run('ip', ['-n', NS.cgw, 'addr', 'show', 'dev', 'cgw-inet']);
    expect(cgwAddresses).not.toMatch(/198\.51\.100\.10/);
    const result = await ping(NS.onprem, plan.vpc.host);
    expect(result.received).toBe(result.sent);
  });

  it('static file: pings cross each tunnel; `up` twice in a row leaves one clean lab', async () => {
    const config = loadConfig(LAB_CONFIG_STATIC);
    expect(config.routing).toBe('static');
    await labUp({ config, configPath: LAB_CONFIG_STATIC, options: { nat: false } });
    const state = await labUp({ config, configPath: LAB_CONFIG_STATIC, options: { nat: false } });
    expect((await labNamespaces()).sort()).toEqual([...ALL_NAMESPACES].sort());
    expect(Object.keys(state.pids).sort()).toEqual(['aws1', 'aws2']);
    const plan = buildLabPlan(config, { nat: false });
    const ref = await startReferenceCustomer(plan, state.stateDir);
    for (const index of [1, 2] as const) {
      await useTunnel(ref, index);
      const there = await ping(NS.onprem, plan.vpc.host);
      const back = await ping(NS.vpc, plan.onprem.host);
      expect([there.received, back.received]).toEqual([there.sent, back.sent]);
    }
  });

  it('the main job (`cgwd lab run`): cgwd as the customer, both tunnels up, pings both ways, its status printed', async () => {
    const out: string[] = [];
    await cgwdRun({ config: LAB_CONFIG_BGP }, { out: (l) => out.push(l), err: () => {} }, true);
    const text = out.join('\n');
    expect(text).toMatch(/4 BGP\s+Established/);
    expect(text).toMatch(/on-prem → VPC 10\/10, VPC → on-prem 10\/10 pings answered/);
  });

  it('down stops every recorded process and removes every lab namespace', async () => {
    const state = readLabState();
    expect(state).toBeDefined();
    const pids = Object.values(state?.pids ?? {});
    expect(pids.length).toBeGreaterThanOrEqual(3);
    await labDown();
    expect(await labNamespaces()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(readLabState()).toBeUndefined();
    // Twice is fine.
    await labDown();
  });
});
