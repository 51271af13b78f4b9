/**
 * The HA pair in the several-connection lab: one site LAN with two customer-gateway boxes, each
 * running its own cgwd on its own VPN connection to one virtual private gateway; both advertise the
 * site prefix, box B (the standby) with AS-path prepend so that AWS prefers box A; keepalived on both
 * boxes holds the LAN's gateway address by VRRP, with `cgwd status --check` as its health check
 * (configs/keepalived/keepalived.conf, with this lab's names filled in).
 *
 * A scenario pings LAN host → VPC host every 10 ms while box A fails in one of three ways (its cgwd
 * killed, its uplink cut silently, the box powered off: every process in it killed and its links
 * gone), then while box A returns. Loss per direction comes from one ping stream: an nftables
 * counter in the VPC host counts the echo requests that arrived, so
 *   LAN → VPC lost = requests sent − requests arrived,
 *   VPC → LAN lost = requests arrived − replies received (the VPC host answers each one it gets).
 * The LAN → VPC side moves with the VRRP address (keepalived's check interval × fall, or VRRP's
 * master-down interval when box A is gone); the VPC → LAN side moves when AWS stops preferring box
 * A's path: at once when its BGP session closes, else after the BGP hold time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/index.js';
import { CgwdError } from '../errors.js';
import { execIn, execInResult, isAlive, run, runCommand, sleep, spawnDaemonIn, waitFor } from '../system/exec.js';
import { labDown } from './lab.js';
import { buildBox, cutUplink, deleteBox, multiLabUp, recordMultiPid, type MultiLabState } from './multi-lab.js';
import type { MultiBox } from './multi-plan.js';
import { NS } from './plan.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HA_CONFIG_A = path.join(packageRoot, 'configs', 'lab', 'vpn-config.xml');
export const HA_CONFIG_B = path.join(packageRoot, 'configs', 'lab', 'vpn-config-b.xml');
const KEEPALIVED_CONF = path.join(packageRoot, 'configs', 'keepalived', 'keepalived.conf');
export const HA_SITE_PREFIX = '192.0.2.0/24';
const PING_INTERVAL_MS = 10;

export type HaEvent = 'cgwd-killed' | 'uplink-cut' | 'power-off';
export interface HaPhase {
  /** What happened 2 s into the ping stream: a failure of box A, or box A's return after it. */
  event: HaEvent | `${HaEvent}:return`;
  sent: number;
  lanToVpcLost: number;
  vpcToLanLost: number;
  /** The AWS router's tunnel toward the site prefix when the phase ended (tun1/tun2: box A; c2tun1/c2tun2: box B). */
  awsRouteAtEnd: string;
}

export interface HaPairOptions {
  /** The CLI script (dist/cli/main.js). */
  cli: string;
  /** Which failures to run, in order. */
  events: readonly HaEvent[];
  /** BGP hold time written into the lab's copies of the AWS files (AWS uses 30 s). */
  holdTime: number;
  /** AS-path prepend of box B (the standby). */
  standbyPrepend: number;
  log?: (line: string) => void;
}

export interface HaPairResult {
  phases: HaPhase[];
  /** VRRP states each box's keepalived reported, in order (notify hook). */
  transitions: Record<'a' | 'b', string[]>;
}

interface BoxRun {
  box: MultiBox;
  config: string;
  socket: string;
  cgwd?: number;
  keepalived?: number;
}

export class HaPair {
  readonly work = mkdtempSync(path.join(tmpdir(), 'cgwd-ha-'));
  readonly boxes: Record<'a' | 'b', BoxRun>;
  private readonly log: (line: string) => void;
  private readonly configDir: string;

  private constructor(readonly lab: MultiLabState, private readonly options: HaPairOptions, configs: [string, string], configDir: string) {
    this.log = options.log ?? (() => {});
    const [a, b] = lab.plan.boxes;
    if (!a || !b) throw new CgwdError('LAB_PLAN', 'the HA pair needs two boxes');
    this.boxes = {
      a: { box: a, config: configs[0], socket: path.join(this.work, 'boxa.sock') },
      b: { box: b, config: configs[1], socket: path.join(this.work, 'boxb.sock') },
    };
    // The lean health check (cli/check.ts): the same verdict as `cgwd status --check`, a quarter of the start-up cost.
    const check = path.join(path.dirname(options.cli), 'check.js');
    writeFileSync(path.join(this.work, 'cgwd-check'), `#!/bin/sh\nexec ${process.execPath} ${check} "$@"\n`, { mode: 0o755 });
    for (const id of ['a', 'b'] as const) {
      // keepalived calls it as: <script> INSTANCE <name> MASTER|BACKUP|FAULT|STOP <priority>
      writeFileSync(path.join(this.work, `notify-${id}`), `#!/bin/sh\necho "$3" >> ${path.join(this.work, `vrrp-${id}`)}\n`, { mode: 0o755 });
    }
    this.configDir = configDir;
  }

  /** Builds the lab (two connections, one site, two boxes) with copies of the AWS files at `holdTime`. */
  static async start(options: HaPairOptions): Promise<HaPair> {
    const dir = mkdtempSync(path.join(tmpdir(), 'cgwd-ha-configs-'));
    const copy = (file: string, name: string): string => {
      const out = path.join(dir, name);
      writeFileSync(out, readFileSync(file, 'utf8').replaceAll('<hold_time>30</hold_time>', `<hold_time>${options.holdTime}</hold_time>`));
      return out;
    };
    const configs: [string, string] = [copy(HA_CONFIG_A, 'a.xml'), copy(HA_CONFIG_B, 'b.xml')];
    const lab = await multiLabUp({
      spec: {
        connections: configs.map((c) => ({ config: loadConfig(c), configPath: c })),
        sites: [{ id: 'a', lan: '192.0.2.0', gateway: 'vrrp', boxes: [{ id: 'a', connections: [0] }, { id: 'b', connections: [1] }] }],
      },
      ...(options.log ? { log: options.log } : {}),
    });
    const pair = new HaPair(lab, options, configs, dir);
    // Echo requests from the LAN host that reach the VPC host.
    for (const rule of [
      'add table ip cgwd_count',
      'add chain ip cgwd_count in { type filter hook input priority 0 ; }',
      `add rule ip cgwd_count in ip saddr ${pair.site.host} icmp type echo-request counter`,
    ]) {
      await execIn(NS.vpc, 'nft', rule.split(' '));
    }
    return pair;
  }

  get site(): MultiLabState['plan']['sites'][0] {
    const site = this.lab.plan.sites[0];
    if (!site) throw new CgwdError('LAB_PLAN', 'no site');
    return site;
  }

  private keepalivedConf(id: 'a' | 'b'): string {
    const run = this.boxes[id];
    return readFileSync(KEEPALIVED_CONF, 'utf8')
      .replace(/script "\/usr\/bin\/cgwd status --check [^"]*"/, `script "${path.join(this.work, 'cgwd-check')} --control-socket ${run.socket}"`)
      .replace(/priority 150 .*/, `priority ${id === 'a' ? 150 : 100}`)
      // Failback policy of this lab: box A takes the address back once its check has passed `rise`
      // times and 5 s more have gone by (the example's `nopreempt` keeps box B instead).
      .replace(/nopreempt .*/, 'preempt_delay 5')
      .replace('10.10.0.1/24', `${this.site.gateway}/24`)
      .replace('/usr/local/bin/cgwd-vrrp-notify', path.join(this.work, `notify-${id}`));
  }

  /** Starts box `id`'s cgwd and keepalived; resolves once its tunnels carry traffic. */
  async startBox(id: 'a' | 'b'): Promise<void> {
    const r = this.boxes[id];
    const args = [
      process.execPath, this.options.cli, 'up', '--config', r.config, '--advertise', HA_SITE_PREFIX,
      '--control-socket', r.socket, '--metrics-listen', 'off',
      ...(id === 'b' ? ['--as-path-prepend', String(this.options.standbyPrepend)] : []),
    ];
    r.cgwd = spawnDaemonIn(r.box.namespace, args, path.join(this.work, `cgwd-${id}.log`));
    recordMultiPid(this.lab.state.stateDir, `cgwd-box${id}`, r.cgwd);
    await this.waitHealthy(id);
    const conf = path.join(this.work, `keepalived-${id}.conf`);
    writeFileSync(conf, this.keepalivedConf(id));
    r.keepalived = spawnDaemonIn(
      r.box.namespace,
      ['keepalived', '--dont-fork', '--log-console', '--vrrp', '-f', conf, '-p', path.join(this.work, `ka-${id}.pid`), '-r', path.join(this.work, `ka-vrrp-${id}.pid`)],
      path.join(this.work, `keepalived-${id}.log`),
    );
    recordMultiPid(this.lab.state.stateDir, `keepalived-box${id}`, r.keepalived);
  }

  async waitHealthy(id: 'a' | 'b', timeoutMs = 90_000): Promise<void> {
    const r = this.boxes[id];
    await waitFor(`box ${id}'s cgwd healthy (status --check)`, async () => {
      if (r.cgwd !== undefined && !isAlive(r.cgwd)) throw new CgwdError('LAB_CGWD_EXITED', `box ${id}'s cgwd exited; see ${this.work}/cgwd-${id}.log`);
      const c = await execInResult(r.box.namespace, process.execPath, [this.options.cli, 'status', '--check', 'all', '--control-socket', r.socket]);
      return c.code === 0 ? true : undefined;
    }, timeoutMs, 500);
  }

  /** Which box holds the LAN gateway address now ('a', 'b', 'both' or 'none'). */
  async vipHolder(): Promise<'a' | 'b' | 'both' | 'none'> {
    const has = async (id: 'a' | 'b'): Promise<boolean> => {
      const r = await runCommand('ip', ['-n', this.boxes[id].box.namespace, '-4', 'addr', 'show', 'dev', 'lan0']);
      return r.code === 0 && r.stdout.includes(` ${this.site.gateway}/24`);
    };
    const [a, b] = [await has('a'), await has('b')];
    return a && b ? 'both' : a ? 'a' : b ? 'b' : 'none';
  }

  /** The AWS router's tunnel toward the site prefix (tun1/tun2: box A; c2tun1/c2tun2: box B). */
  async awsRouteDevice(): Promise<string | undefined> {
    return /dev (\S+)/.exec(await run('ip', ['-n', NS.aws, 'route', 'show', HA_SITE_PREFIX]))?.[1];
  }

  /** Waits until box A is the active one on both sides: it holds the address and AWS routes to it. */
  async waitActiveA(timeoutMs = 120_000): Promise<void> {
    await waitFor('box A active (VRRP address and AWS route)', async () => {
      const dev = await this.awsRouteDevice();
      return (await this.vipHolder()) === 'a' && (dev === 'tun1' || dev === 'tun2') ? true : undefined;
    }, timeoutMs, 500);
  }

  transitions(): Record<'a' | 'b', string[]> {
    const read = (id: 'a' | 'b'): string[] => {
      const file = path.join(this.work, `vrrp-${id}`);
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
    };
    return { a: read('a'), b: read('b') };
  }

  /** Echo requests from the LAN host counted at the VPC host so far (the counter only grows). */
  private async arrived(): Promise<number> {
    const out = await execIn(NS.vpc, 'nft', ['list', 'table', 'ip', 'cgwd_count']);
    return Number(/counter packets (\d+)/.exec(out)?.[1] ?? 0);
  }

  /** Pings for `durationMs` every 10 ms, running `action` 2 s in; the loss per direction. */
  async measure(event: HaPhase['event'], durationMs: number, action: () => Promise<void>): Promise<HaPhase> {
    const before = await this.arrived();
    const count = Math.round(durationMs / PING_INTERVAL_MS);
    const pinger = execInResult(this.site.namespace, 'ping', ['-n', '-q', '-c', String(count), '-i', String(PING_INTERVAL_MS / 1000), '-W', '1', this.lab.plan.vpc.host], durationMs * 3 + 30_000);
    await sleep(2_000);
    await action();
    const r = await pinger;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    if (!m) throw new CgwdError('LAB_PING_OUTPUT', `unexpected ping output: ${r.stdout.slice(0, 200)}`);
    const sent = Number(m[1]);
    const received = Number(m[2]);
    const arrived = (await this.arrived()) - before;
    const awsRouteAtEnd = (await this.awsRouteDevice()) ?? 'none';
    const phase = { event, sent, lanToVpcLost: Math.max(0, sent - arrived), vpcToLanLost: Math.max(0, arrived - received), awsRouteAtEnd };
    this.log(
      `${event}: sent ${sent}, LAN→VPC lost ${phase.lanToVpcLost} (${phase.lanToVpcLost * PING_INTERVAL_MS} ms), ` +
        `VPC→LAN lost ${phase.vpcToLanLost} (${phase.vpcToLanLost * PING_INTERVAL_MS} ms); AWS routes the site via ${awsRouteAtEnd}; VRRP address on box ${await this.vipHolder()}`,
    );
    return phase;
  }

  /** Box A fails as `event`, then returns; both measured. */
  async failAndReturn(event: HaEvent, phaseMs: number): Promise<HaPhase[]> {
    const a = this.boxes.a;
    const fail = async (): Promise<void> => {
      if (event === 'cgwd-killed') {
        if (a.cgwd !== undefined) process.kill(a.cgwd, 'SIGKILL');
      } else if (event === 'uplink-cut') {
        await cutUplink(a.box, true);
      } else {
        await this.powerOffA();
      }
    };
    const back = async (): Promise<void> => {
      if (event === 'cgwd-killed') {
        const args = [process.execPath, this.options.cli, 'up', '--config', a.config, '--advertise', HA_SITE_PREFIX, '--control-socket', a.socket, '--metrics-listen', 'off'];
        a.cgwd = spawnDaemonIn(a.box.namespace, args, path.join(this.work, 'cgwd-a.log'));
        recordMultiPid(this.lab.state.stateDir, 'cgwd-boxa', a.cgwd);
      } else if (event === 'uplink-cut') {
        await cutUplink(a.box, false);
      } else {
        await buildBox(this.lab.plan, a.box);
        await this.startBox('a');
      }
    };
    const failed = await this.measure(event, phaseMs, fail);
    if ((await this.vipHolder()) !== 'b') throw new CgwdError('LAB_HA', `after ${event}, box B does not hold the gateway address (holder: ${await this.vipHolder()})`);
    const returned = await this.measure(`${event}:return`, phaseMs + 10_000, back);
    await this.waitActiveA();
    return [failed, returned];
  }

  private async powerOffA(): Promise<void> {
    const ns = this.boxes.a.box.namespace;
    const pids = (await run('ip', ['netns', 'pids', ns])).split('\n').map(Number).filter((p) => p > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    await deleteBox(this.lab.plan, this.boxes.a.box);
  }

  async stop(): Promise<void> {
    await labDown(this.lab.state.stateDir);
    rmSync(this.configDir, { recursive: true, force: true });
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** The whole scenario: both boxes up, box A active, then each failure and return. */
export async function runHaPair(options: HaPairOptions, phaseMs = 20_000): Promise<HaPairResult> {
  const pair = await HaPair.start(options);
  try {
    await pair.startBox('a');
    await pair.startBox('b');
    await pair.waitActiveA();
    const phases: HaPhase[] = [];
    for (const event of options.events) phases.push(...(await pair.failAndReturn(event, phaseMs)));
    return { phases, transitions: pair.transitions() };
  } finally {
    await pair.stop();
  }
}
