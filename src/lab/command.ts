/**
 * `cgwd lab …`: the emulated-AWS lab for trying cgwd (and testing it) without
 * an AWS account. Needs root: it creates network namespaces named cgwd-*.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { CgwdError } from '../errors.js';
import { renderStatus } from '../cli/status-view.js';
import { queryStatus } from '../control/client.js';
import { isAlive, runCommand, spawnDaemonIn, stopPid, waitFor } from '../system/exec.js';
import { labDir, labDown, labStatus, labUp, recordLabPid, type LabStatus } from './lab.js';
import { manyPrefixes, renderBench, renderBgpFailover, runBench, runBgpFailoverBench, runNatRebindBench, runStaticFailoverBench } from './bench.js';
import { renderRouteBench, runRouteBench } from './route-bench.js';
import { renderEcmpBench, runEcmpBench } from './ecmp-bench.js';
import { renderHaBench, runHaBench } from './ha-bench.js';
import { renderEspBench, runEspBench } from './esp-bench.js';
import { buildLabPlan, NS } from './plan.js';
import { ensureContainerImage, removeContainer, startContainer } from './container.js';
import { awsEndpointCounters, ping, startReferenceCustomer, stopReferenceCustomer, useTunnel, type PingResult } from './reference.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAB_CONFIG_BGP = path.join(packageRoot, 'configs', 'lab', 'vpn-config.xml');
export const LAB_CONFIG_STATIC = path.join(packageRoot, 'configs', 'lab', 'vpn-config-static.xml');

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new CgwdError('LAB_NEEDS_ROOT', 'the lab needs root: it creates network namespaces (run it with sudo)');
  }
}

interface UpFlags {
  config?: string;
  static?: boolean;
  nat?: boolean;
}

function configPathFor(flags: UpFlags): string {
  return flags.config ?? (flags.static ? LAB_CONFIG_STATIC : LAB_CONFIG_BGP);
}

export interface ReferenceRunRow {
  tunnel: 1 | 2;
  bringUpMs: number;
  onpremToVpc: PingResult;
  vpcToOnprem: PingResult;
  espPacketsAtAws: number;
}

/** Lab up, the strongSwan + BIRD reference customer through each tunnel in turn, lab down. */
export async function referenceRun(flags: UpFlags, io: Io, keep = false): Promise<ReferenceRunRow[]> {
  const configPath = configPathFor(flags);
  const config = loadConfig(configPath);
  const options = { nat: flags.nat ?? false };
  const state = await labUp({ config, configPath, options, log: (l) => io.err(`lab: ${l}`) });
  const rows: ReferenceRunRow[] = [];
  try {
    const plan = buildLabPlan(config, options);
    const ref = await startReferenceCustomer(plan, state.stateDir);
    for (const index of [1, 2] as const) {
      const started = Date.now();
      await useTunnel(ref, index);
      const bringUpMs = Date.now() - started;
      const before = await awsEndpointCounters(state.stateDir, index);
      const there = await ping(NS.onprem, plan.vpc.host);
      const back = await ping(NS.vpc, plan.onprem.host);
      const after = await awsEndpointCounters(state.stateDir, index);
      rows.push({
        tunnel: index,
        bringUpMs,
        onpremToVpc: there,
        vpcToOnprem: back,
        espPacketsAtAws: after.inPackets - before.inPackets,
      });
    }
    // Delete the SAs at the AWS side, as a customer gateway does on shutdown.
    if (!keep) await stopReferenceCustomer(ref);
  } finally {
    if (!keep) await labDown(state.stateDir);
  }
  return rows;
}

/** Lab up, cgwd as the customer gateway in cgwd-cgw, traffic both ways, its status, a clean stop. */
export async function cgwdRun(flags: UpFlags, io: Io, keep = false, container = false): Promise<void> {
  const configPath = configPathFor(flags);
  const config = loadConfig(configPath);
  const options = { nat: flags.nat ?? false };
  const image = container ? await ensureContainerImage((l) => io.err(`lab: ${l}`)) : undefined;
  const state = await labUp({ config, configPath, options, log: (l) => io.err(`lab: ${l}`) });
  const plan = buildLabPlan(config, options);
  let socket = path.join(state.stateDir, 'cgwd.sock');
  const routing = config.routing === 'bgp' ? ['--advertise', plan.onprem.prefix] : ['--static-route', plan.vpc.prefix];
  const cli = path.join(packageRoot, 'dist', 'cli', 'main.js');
  const logFile = path.join(state.stateDir, 'cgwd.log');
  let pid: number;
  if (image) {
    const runDir = path.join(state.stateDir, 'cgwd-run');
    mkdirSync(runDir, { recursive: true });
    socket = path.join(runDir, 'cgwd.sock');
    await removeContainer(LAB_CONTAINER);
    pid = startContainer({ name: LAB_CONTAINER, netns: NS.cgw, configPath, runDir, upArgs: [...routing, '--control-socket', '/run/cgwd/cgwd.sock'], image }, logFile);
    io.err(`lab: cgwd up from ${image} as container ${LAB_CONTAINER} in ${NS.cgw}'s network (podman pid ${pid}, log ${logFile})`);
  } else {
    pid = spawnDaemonIn(NS.cgw, [process.execPath, cli, 'up', '--config', configPath, ...routing, '--control-socket', socket], logFile);
    io.err(`lab: cgwd up in ${NS.cgw} (pid ${pid}, log ${logFile})`);
  }
  recordLabPid(state.stateDir, 'cgwd', pid);
  const started = Date.now();
  try {
    await waitFor(
      'both tunnels up and a route to the VPC',
      async () => {
        if (!isAlive(pid)) throw new CgwdError('LAB_CGWD_EXITED', `cgwd exited; see ${path.join(state.stateDir, 'cgwd.log')}`);
        const status = await queryStatus(socket).catch(() => undefined);
        const up = status?.tunnels.every((t) => t.ike?.state === 'established' && t.keepalive.healthy && (config.routing === 'static' || t.bgp?.state === 'Established'));
        const route = await runCommand('ip', ['-n', NS.cgw, 'route', 'show', plan.vpc.prefix]);
        return up && route.stdout.includes('proto 199') ? status : undefined;
      },
      90_000,
      250,
    );
    const upMs = Date.now() - started;
    const there = await ping(NS.onprem, plan.vpc.host, 10, 0.1);
    const back = await ping(NS.vpc, plan.onprem.host, 10, 0.1);
    io.out(renderStatus(await queryStatus(socket)));
    io.out(`both tunnels up ${upMs} ms after start; on-prem → VPC ${there.received}/${there.sent}, VPC → on-prem ${back.received}/${back.sent} pings answered`);
    if (there.received !== there.sent || back.received !== back.sent) throw new CgwdError('LAB_RUN_FAILED', 'pings were lost');
  } finally {
    await stopPid(pid, 10_000);
    if (image) await removeContainer(LAB_CONTAINER);
    if (!keep) await labDown(state.stateDir);
  }
}

/** The lab's customer-gateway container (one at a time, like the lab itself). */
export const LAB_CONTAINER = 'cgwd-lab-cgw';

function printBenchIntro(io: Io): void {
  io.err('lab bench: three gateway pairs through tunnel 1 of the static lab file; takes a few minutes');
}

function printStatus(status: LabStatus, io: Io): void {
  io.out(`lab: ${status.up ? 'up' : 'down'} (state in ${status.stateDir})`);
  if (status.configPath) io.out(`config: ${status.configPath}${status.nat ? ' (customer behind NAT)' : ''}`);
  for (const [name, present] of Object.entries(status.namespaces)) io.out(`  netns ${name.padEnd(12)} ${present ? 'present' : 'absent'}`);
  for (const [name, p] of Object.entries(status.processes)) io.out(`  ${name.padEnd(18)} pid ${p.pid} ${p.alive ? 'running' : 'NOT RUNNING'}`);
  for (const t of status.tunnels) io.out(`  tunnel ${t.index}: IKE SA ${t.ikeSa}; CHILD SA ${t.childSa}`);
  for (const b of status.bgp) io.out(`  BGP ${b.name}: ${b.state} ${b.info}`);
}

export function registerLabCommand(program: Command, io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) }): void {
  const lab = program
    .command('lab')
    .description(
      'an emulated AWS side in network namespaces (cgwd-*): strongSwan plays the two AWS tunnel endpoints, ' +
        'BIRD the AWS router with the Amazon ASN, plus a VPC host, an on-prem host and an internet router that can NAT. ' +
        'Needs root; installs strongswan, bird2, iperf3 and ping with apt-get when missing.',
    );
  const upOptions = (c: Command): Command =>
    c
      .option('--config <file>', 'AWS configuration file whose outside addresses are in documentation ranges (default: configs/lab/vpn-config.xml)')
      .option('--static', 'use the static-routing lab file (configs/lab/vpn-config-static.xml)')
      .option('--nat', 'put the customer gateway behind source NAT (exercises NAT-T)');

  upOptions(lab.command('up').description('build the lab (idempotent: an existing lab is torn down first)')).action(async (flags: UpFlags) => {
    requireRoot();
    const configPath = configPathFor(flags);
    const state = await labUp({ config: loadConfig(configPath), configPath, options: { nat: flags.nat ?? false }, log: (l) => io.err(`lab: ${l}`) });
    io.out(`lab up: AWS endpoints ${Object.keys(state.pids).join(', ')}; state in ${state.stateDir}`);
    io.out(`run the customer side in namespace ${NS.cgw}, e.g.: ip netns exec ${NS.cgw} cgwd up --config ${configPath}`);
  });

  lab.command('down').description('stop every lab process (by recorded PID) and delete the lab namespaces').action(async () => {
    requireRoot();
    await labDown();
    io.out('lab down');
  });

  lab
    .command('status')
    .description('namespaces, processes, AWS-side IKE/CHILD SAs and BGP sessions')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      requireRoot();
      const status = await labStatus(labDir());
      if (flags.json) io.out(JSON.stringify(status, null, 2));
      else printStatus(status, io);
    });

  lab
    .command('bench')
    .description('benchmark, side by side: (a) cgwd ↔ cgwd, (b) strongSwan ↔ strongSwan, (c) cgwd ↔ strongSwan — iperf3 TCP and UDP, CPU per packet, peak RSS')
    .option('--runs <n>', 'runs per TCP measurement (median)', '3')
    .option('--tcp-seconds <s>', 'seconds per TCP run', '10')
    .option('--udp-seconds <s>', 'seconds per UDP run', '5')
    .option('--failover-only', 'only the route-programming figures and the failover gaps (static and BGP, 1 and 1,000 routes; NAT rebinding)')
    .option('--ha-only', 'only the HA pair: loss per direction when box A\'s cgwd dies, its uplink is cut, it powers off, and when it returns')
    .option('--ecmp-only', 'only one tunnel against both at once: TCP with 8 flows, and 32 flows while tunnel 1 is cut')
    .option('--udp-only', 'only the UDP ladder (native generator), no TCP, route or failover figures')
    .option('--tcp-only', 'only iperf3 TCP through tunnel 1 per pair (no UDP ladder, route or failover figures)')
    .option('--esp-only', 'only the ESP per-packet path without syscalls: ns and (with valgrind) instructions per packet for each suite')
    .option('--pairs <list>', 'which pairs, e.g. a or a,c (a cgwd ↔ cgwd, b strongSwan ↔ strongSwan, c cgwd ↔ strongSwan)', 'a,b,c')
    .option('--rates <list>', 'UDP ladder steps in packets/s, lowest first')
    .option('--sizes <list>', 'UDP payload sizes in bytes', '1400,1350')
    .option('--generator-gso <k>', 'the UDP generator sends k datagrams per UDP_SEGMENT super-datagram (1..32), as a LAN NIC with UDP GRO forwarding delivers them', '1')
    .option('--dataplane-threads <1|2>', "packet threads of the lab's cgwd instances (pairs a and c; default 1)")
    .action(async (flags: { runs: string; tcpSeconds: string; udpSeconds: string; failoverOnly?: boolean; ecmpOnly?: boolean; haOnly?: boolean; udpOnly?: boolean; tcpOnly?: boolean; espOnly?: boolean; pairs: string; rates?: string; sizes: string; generatorGso: string; dataplaneThreads?: string }) => {
      if (flags.espOnly) {
        io.out(renderEspBench(await runEspBench({ size: 1378, count: 200_000, callgrindCount: 5_000, log: (l) => io.err(`bench: ${l}`) })));
        return;
      }
      requireRoot();
      if (flags.haOnly) {
        io.out(renderHaBench(await runHaBench(path.join(packageRoot, 'dist', 'cli', 'main.js'), (l) => io.err(`bench: ${l}`))));
        return;
      }
      printBenchIntro(io);
      const cli = path.join(packageRoot, 'dist', 'cli', 'main.js');
      const log = (l: string): void => io.err(`bench: ${l}`);
      if (flags.ecmpOnly) {
        io.out(renderEcmpBench(await runEcmpBench(LAB_CONFIG_BGP, cli, log, Number(flags.runs), Number(flags.tcpSeconds))));
        return;
      }
      const rates = flags.rates?.split(',').map(Number);
      if (rates && !rates.every((r) => Number.isInteger(r) && r > 0 && r <= 5_000_000)) throw new CgwdError('USAGE', '--rates: packets/s, 1..5000000, comma-separated');
      const sizes = flags.sizes.split(',').map(Number);
      if (!sizes.every((b) => Number.isInteger(b) && b >= 24 && b <= 8972)) throw new CgwdError('USAGE', '--sizes: UDP payload bytes, 24..8972, comma-separated');
      const generatorGso = Number(flags.generatorGso);
      if (!Number.isInteger(generatorGso) || generatorGso < 1 || generatorGso > 32) throw new CgwdError('USAGE', '--generator-gso: datagrams per send, 1..32');
      if (generatorGso > 1 && sizes.some((b) => b * generatorGso > 65_000)) throw new CgwdError('USAGE', '--generator-gso times each of --sizes must be at most 65000 bytes');
      if (flags.dataplaneThreads !== undefined && flags.dataplaneThreads !== '1' && flags.dataplaneThreads !== '2') {
        throw new CgwdError('USAGE', `--dataplane-threads: 1 or 2, found ${flags.dataplaneThreads}`);
      }
      const dataplaneThreads: 1 | 2 | undefined = flags.dataplaneThreads === '2' ? 2 : flags.dataplaneThreads === '1' ? 1 : undefined;
      const threadOption = dataplaneThreads !== undefined ? { dataplaneThreads } : {};
      if (flags.tcpOnly) {
        const rows = await runBench({ configPath: LAB_CONFIG_STATIC, cli, runs: Number(flags.runs), tcpSeconds: Number(flags.tcpSeconds), udpSeconds: 0, tcpOnly: true, pairs: flags.pairs.split(','), ...threadOption, log });
        io.out(renderBench(rows));
        return;
      }
      if (flags.udpOnly) {
        const rows = await runBench({ configPath: LAB_CONFIG_STATIC, cli, runs: 0, tcpSeconds: 0, udpSeconds: Number(flags.udpSeconds), udpOnly: true, pairs: flags.pairs.split(','), sizes, generatorGso, ...(rates ? { rates } : {}), ...threadOption, log });
        io.out(renderBench(rows));
        return;
      }
      io.out(renderRouteBench(await runRouteBench()));
      const failover = [
        await runStaticFailoverBench(LAB_CONFIG_STATIC, cli, log),
        await runStaticFailoverBench(LAB_CONFIG_STATIC, cli, log, manyPrefixes(1000)),
        ...(await runBgpFailoverBench(LAB_CONFIG_BGP, cli, log)),
        ...(await runBgpFailoverBench(LAB_CONFIG_BGP, cli, log, manyPrefixes(1000), true)),
        await runNatRebindBench(LAB_CONFIG_STATIC, cli, log),
      ];
      io.out(renderBgpFailover(failover));
      if (flags.failoverOnly) return;
      const rows = await runBench({
        configPath: LAB_CONFIG_STATIC,
        cli,
        runs: Number(flags.runs),
        tcpSeconds: Number(flags.tcpSeconds),
        udpSeconds: Number(flags.udpSeconds),
        pairs: flags.pairs.split(','),
        sizes,
        generatorGso,
        ...(rates ? { rates } : {}),
        ...threadOption,
        log: (l) => io.err(`bench: ${l}`),
      });
      io.out(renderBench(rows));
    });

  upOptions(
    lab
      .command('run')
      .description(
        'the main job: lab up, `cgwd up` as the customer gateway (BGP, or static routes with --static), wait for both tunnels, ' +
          'ping on-prem ↔ VPC, print `cgwd status`, stop cgwd, lab down. --reference runs strongSwan + BIRD as the customer instead, ' +
          'through each tunnel in turn',
      )
      .option('--reference', 'strongSwan + BIRD as the customer side (proves the emulated AWS side)')
      .option('--container', 'run the customer gateway from the container image (podman; builds the image from the Debian package)')
      .option('--keep', 'leave the lab up afterwards'),
  ).action(async (flags: UpFlags & { keep?: boolean; reference?: boolean; container?: boolean }) => {
    requireRoot();
    if (!flags.reference) {
      await cgwdRun(flags, io, flags.keep ?? false, flags.container ?? false);
      return;
    }
    const rows = await referenceRun(flags, io, flags.keep ?? false);
    io.out('tunnel  bring-up  onprem→vpc  vpc→onprem  ESP packets at AWS');
    for (const r of rows) {
      const ratio = (p: PingResult): string => `${p.received}/${p.sent}`.padEnd(12);
      io.out(`${String(r.tunnel).padEnd(8)}${`${r.bringUpMs} ms`.padEnd(10)}${ratio(r.onpremToVpc)}${ratio(r.vpcToOnprem)}${r.espPacketsAtAws}`);
    }
    const lossless = (p: PingResult): boolean => p.sent > 0 && p.received === p.sent;
    const ok = rows.every((r) => lossless(r.onpremToVpc) && lossless(r.vpcToOnprem) && r.espPacketsAtAws > 0);
    if (!ok) throw new CgwdError('LAB_REFERENCE_FAILED', 'the reference run lost pings');
  });
}
