/**
 * `cgwd lab up|down|status`: builds the emulated-AWS lab in network namespaces
 * (plan.ts draws it), runs strongSwan with kernel-libipsec as the AWS endpoint
 * of each tunnel and BIRD as the AWS router, and tears everything down again.
 *
 * Order of `up` (each step needs the one before):
 *   1. clean whatever an earlier lab left (so `up` is idempotent);
 *   2. namespaces, veth links, addresses, routes, forwarding, optional NAT;
 *   3. per tunnel: charon in awsN; its libipsec TUN moved into `aws` as tunN
 *      with the AWS inside address (route-based VTI semantics; README, "The emulated-AWS lab"),
 *      a stand-in `ipsec0` left behind, the PSK/proposals loaded over vici;
 *   4. BIRD in `aws` (BGP files) or static routes to on-prem (static files).
 * Every process is recorded by PID in the state file; `down` stops exactly those.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CgwdError } from '../errors.js';
import { birdConf, type BgpNeighbor } from './bird.js';
import { execIn, execInResult, ipIn, isAlive, run, runCommand, sleep, spawnDaemonIn, stopPid, waitFor } from '../system/exec.js';
import { ALL_NAMESPACES, NS, buildLabPlan, type LabOptions, type LabPlan, type LabTunnel } from './plan.js';
import { checkPrivateDirectory, isAbsent, isSameProcess, privateDirectory, processStartTime, readPrivateFile, writePrivateFile } from './state-dir.js';
import { awsDefaultSuite, strongswanConf, swanctlConf, type Suite, type SwanConnection } from './strongswan.js';
import type { TunnelConfig, TunnelSettingKey, VpnConfig } from '../config/model.js';

export const DEFAULT_LAB_DIR = '/tmp/cgwd-lab';
const CHARON = '/usr/lib/ipsec/charon';

export interface LabState {
  stateDir: string;
  configPath: string;
  options: LabOptions;
  /** strongSwan log level of the AWS side's ike/chd groups (4 logs key material). */
  awsLogLevel: number;
  /** Process name → PID, for everything the lab started. */
  pids: Record<string, number>;
  /** Process name → its start time when recorded (state-dir.ts): a PID is signalled only while it matches. */
  starts?: Record<string, number>;
  startedAt: string;
  /** Namespaces beyond the single-connection lab's that this lab made (the several-connection lab, multi-lab.ts). */
  namespaces?: string[];
}

export function labDir(): string {
  return process.env.CGWD_LAB_DIR ?? DEFAULT_LAB_DIR;
}

function statePath(dir: string): string {
  return path.join(dir, 'lab.json');
}

/**
 * The lab's state, or undefined when there is none. A directory that exists but is not private
 * to us (state-dir.ts) is refused (LabStateDirError): its PIDs and scripts are not ours to trust.
 */
export function readLabState(dir = labDir()): LabState | undefined {
  if (isAbsent(dir)) return undefined;
  checkPrivateDirectory(dir);
  try {
    return JSON.parse(readPrivateFile(statePath(dir))) as LabState;
  } catch {
    return undefined;
  }
}

function writeLabState(state: LabState): void {
  writePrivateFile(statePath(state.stateDir), JSON.stringify(state, null, 2));
}

/** Notes `pid` (just started) under `name`, with its start time. */
function notePid(state: LabState, name: string, pid: number): void {
  state.pids[name] = pid;
  const start = processStartTime(pid);
  state.starts = { ...state.starts };
  if (start !== undefined) state.starts[name] = start;
  else delete state.starts[name];
}

/** True while `name`'s recorded PID is still the process the lab started (not a reused PID). */
function isOurs(state: LabState, name: string): boolean {
  const pid = state.pids[name];
  return pid !== undefined && isSameProcess(pid, state.starts?.[name]);
}

/** The recorded PIDs that are still the processes the lab started; a PID reused since is left alone. */
export function pidsToStop(state: LabState): number[] {
  return Object.entries(state.pids).filter(([name]) => isOurs(state, name)).map(([, pid]) => pid);
}

/** Records a process started in the lab (e.g. by a test) so that `lab down` stops it too. */
export function recordLabPid(stateDir: string, name: string, pid: number): void {
  const state = readLabState(stateDir);
  if (!state) throw new CgwdError('LAB_NOT_UP', `no lab state in ${stateDir}`);
  notePid(state, name, pid);
  writeLabState(state);
}

// ---------------------------------------------------------------------------
// Packages

const REQUIRED_FILES: readonly [string, string][] = [
  [CHARON, 'strongswan-charon'],
  ['/usr/sbin/swanctl', 'strongswan-swanctl'],
  ['/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so', 'libcharon-extra-plugins'],
  ['/usr/lib/ipsec/plugins/libstrongswan-openssl.so', 'libstrongswan-standard-plugins'],
  ['/usr/sbin/bird', 'bird2'],
  ['/usr/bin/iperf3', 'iperf3'],
  ['/usr/bin/ping', 'iputils-ping'],
  ['/usr/sbin/nft', 'nftables'],
  ['/usr/bin/tcpdump', 'tcpdump'],
];

/** Installs the lab's Debian packages with apt-get when any is missing. */
export async function ensureLabPackages(log: (line: string) => void = () => {}): Promise<void> {
  const missing = [...new Set(REQUIRED_FILES.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  process.env.DEBIAN_FRONTEND = env.DEBIAN_FRONTEND;
  await run('apt-get', ['update', '-qq'], 600_000);
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], 900_000);
}

// ---------------------------------------------------------------------------
// Topology

async function namespaceExists(name: string): Promise<boolean> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').some((line) => line.split(' ')[0] === name);
}

export async function addNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await ipIn(name, 'link', 'set', 'lo', 'up');
}

export async function veth(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await ipIn(nsA, 'link', 'set', ifA, 'up');
  await ipIn(nsB, 'link', 'set', ifB, 'up');
}

/** One AWS tunnel endpoint's namespace on the lab internet: transit /31, its outside address, routes both ways. */
export async function wireEndpoint(
  t: Pick<LabTunnel, 'namespace' | 'awsOutside' | 'transit'>,
  endpointIf: string,
  inetIf: string,
): Promise<void> {
  await veth(t.namespace, endpointIf, NS.inet, inetIf);
  await ipIn(t.namespace, 'addr', 'add', `${t.transit.endpoint}/31`, 'dev', endpointIf);
  await ipIn(t.namespace, 'addr', 'add', `${t.awsOutside}/32`, 'dev', endpointIf);
  await ipIn(NS.inet, 'addr', 'add', `${t.transit.inet}/31`, 'dev', inetIf);
  await ipIn(t.namespace, 'route', 'add', 'default', 'via', t.transit.inet, 'src', t.awsOutside);
  await ipIn(NS.inet, 'route', 'add', `${t.awsOutside}/32`, 'via', t.transit.endpoint);
}

/** AWS router ↔ VPC. */
export async function wireVpc(vpc: Pick<LabPlan['vpc'], 'router' | 'host'>): Promise<void> {
  await veth(NS.aws, 'aws-vpc', NS.vpc, 'vpc-aws');
  await ipIn(NS.aws, 'addr', 'add', `${vpc.router}/24`, 'dev', 'aws-vpc');
  await ipIn(NS.vpc, 'addr', 'add', `${vpc.host}/24`, 'dev', 'vpc-aws');
  await ipIn(NS.vpc, 'route', 'add', 'default', 'via', vpc.router);
}

export async function sysctl(ns: string, key: string, value: string): Promise<void> {
  await execIn(ns, 'sysctl', ['-qw', `${key}=${value}`]);
}

async function buildTopology(plan: LabPlan): Promise<void> {
  for (const name of ALL_NAMESPACES) await addNamespace(name);

  // on-prem LAN
  await veth(NS.cgw, 'cgw-onprem', NS.onprem, 'onprem-cgw');
  await ipIn(NS.cgw, 'addr', 'add', `${plan.onprem.router}/24`, 'dev', 'cgw-onprem');
  await ipIn(NS.onprem, 'addr', 'add', `${plan.onprem.host}/24`, 'dev', 'onprem-cgw');
  await ipIn(NS.onprem, 'route', 'add', 'default', 'via', plan.onprem.router);

  // customer gateway ↔ internet
  await veth(NS.cgw, 'cgw-inet', NS.inet, 'inet-cgw');
  await ipIn(NS.cgw, 'addr', 'add', `${plan.customerTransit.cgw}/31`, 'dev', 'cgw-inet');
  await ipIn(NS.inet, 'addr', 'add', `${plan.customerTransit.inet}/31`, 'dev', 'inet-cgw');
  await ipIn(NS.cgw, 'route', 'add', 'default', 'via', plan.customerTransit.inet);
  if (plan.options.nat) {
    // The customer gateway only has a private transit address; inet rewrites it to the
    // registered public address, as an office's NAT router would.
    const rules = [
      'add table ip cgwd_nat',
      'add chain ip cgwd_nat postrouting { type nat hook postrouting priority 100 ; }',
      `add rule ip cgwd_nat postrouting ip saddr ${plan.customerTransit.cgw} oifname "inet-aws*" snat to ${plan.customerOutside}`,
    ];
    for (const rule of rules) await execIn(NS.inet, 'nft', rule.split(' '));
  } else {
    await ipIn(NS.cgw, 'addr', 'add', `${plan.customerOutside}/32`, 'dev', 'cgw-inet');
    await ipIn(NS.inet, 'route', 'add', `${plan.customerOutside}/32`, 'via', plan.customerTransit.cgw);
  }

  if (plan.options.awsSide === 'cgwd') {
    // One AWS router holding both outside addresses: cgwd --role aws answers for both tunnels.
    await veth(NS.aws, 'aws-inet', NS.inet, 'inet-aws');
    await ipIn(NS.aws, 'addr', 'add', '198.18.0.7/31', 'dev', 'aws-inet');
    await ipIn(NS.inet, 'addr', 'add', '198.18.0.6/31', 'dev', 'inet-aws');
    await ipIn(NS.aws, 'route', 'add', 'default', 'via', '198.18.0.6');
    for (const t of plan.tunnels) {
      await ipIn(NS.aws, 'addr', 'add', `${t.awsOutside}/32`, 'dev', 'aws-inet');
      await ipIn(NS.inet, 'route', 'add', `${t.awsOutside}/32`, 'via', '198.18.0.7');
    }
  }

  // AWS endpoints ↔ internet
  for (const t of plan.options.awsSide === 'cgwd' ? [] : plan.tunnels) {
    await wireEndpoint(t, `aws${t.index}-inet`, `inet-aws${t.index}`);
  }

  await wireVpc(plan.vpc);

  for (const ns of [NS.inet, NS.aws, NS.cgw]) {
    await sysctl(ns, 'net.ipv4.ip_forward', '1');
    // AWS returns traffic on either tunnel; strict reverse-path filtering would drop it.
    await sysctl(ns, 'net.ipv4.conf.all.rp_filter', '0');
    await sysctl(ns, 'net.ipv4.conf.default.rp_filter', '0');
  }
}

// ---------------------------------------------------------------------------
// strongSwan

/** The suites the AWS side accepts: what TunnelOptions allow, or everything AWS allows by default. */
function awsAccepted(tunnel: TunnelConfig, phase: 1 | 2): Suite {
  const pinned = (key: TunnelSettingKey): boolean => tunnel.explicit[key] === 'tunnel-options';
  const defaults = awsDefaultSuite(phase);
  if (phase === 1) {
    return {
      encryption: pinned('ike.encryption') ? tunnel.ike.encryption : defaults.encryption,
      integrity: pinned('ike.integrity') ? tunnel.ike.integrity : defaults.integrity,
      dhGroups: pinned('ike.dhGroups') ? tunnel.ike.dhGroups : defaults.dhGroups,
    };
  }
  return {
    encryption: pinned('ipsec.encryption') ? tunnel.ipsec.encryption : defaults.encryption,
    integrity: pinned('ipsec.integrity') ? tunnel.ipsec.integrity : defaults.integrity,
    dhGroups: pinned('ipsec.pfsGroups') ? tunnel.ipsec.pfsGroups : defaults.dhGroups,
  };
}

function ikeVersionNumber(versions: readonly ('ikev1' | 'ikev2')[]): 0 | 1 | 2 {
  if (versions.includes('ikev1') && versions.includes('ikev2')) return 0;
  return versions.includes('ikev1') ? 1 : 2;
}

/**
 * AWS routes a static connection's traffic to the site over a tunnel whose SA is
 * up (tunnel 1 preferred here). strongSwan's updown hook emulates that: the route
 * via tunN exists exactly while its CHILD SA does.
 */
function writeStaticUpdown(plan: LabPlan, t: LabTunnel, stateDir: string): string {
  const file = path.join(stateDir, `aws${t.index}`, 'updown.sh');
  const route = `${plan.onprem.prefix} dev ${t.awsTun} metric ${100 * t.index}`;
  writePrivateFile(
    file,
    `#!/bin/sh
case "$PLUTO_VERB" in
  up-client) ip -n ${NS.aws} route replace ${route} ;;
  down-client) ip -n ${NS.aws} route del ${route} ;;
esac
exit 0
`,
    0o700,
  );
  return file;
}

export function awsConnection(plan: LabPlan, t: LabTunnel, stateDir: string): SwanConnection {
  const tunnel = t.tunnel;
  return {
    ...(plan.config.routing === 'static' ? { updown: writeStaticUpdown(plan, t, stateDir) } : {}),
    name: 'aws',
    version: ikeVersionNumber(tunnel.ike.versions),
    localAddress: t.awsOutside,
    remoteAddress: t.customerOutside,
    localId: t.awsOutside,
    remoteId: t.customerOutside,
    psk: tunnel.psk.reveal(),
    ike: awsAccepted(tunnel, 1),
    esp: awsAccepted(tunnel, 2),
    ikeLifetime: plan.options.awsIkeLifetime ?? tunnel.ike.lifetimeSeconds,
    childLifetime: plan.options.awsChildLifetime ?? tunnel.ipsec.lifetimeSeconds,
    dpdDelay: tunnel.dpd.intervalSeconds,
    role: 'responder',
  };
}

export interface CharonInstance {
  name: string;
  namespace: string;
  dir: string;
  pid: number;
  vici: string;
}

/** Starts a charon in a namespace with its own strongswan.conf, /run and vici socket. */
export async function startCharon(stateDir: string, name: string, namespace: string, logLevel = 1): Promise<CharonInstance> {
  const dir = path.join(stateDir, name);
  mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  rmSync(path.join(dir, 'charon.vici'), { force: true });
  writePrivateFile(path.join(dir, 'strongswan.conf'), strongswanConf({ stateDir: dir, logLevel }));
  // charon writes /var/run/charon.pid; give each instance a private /run. The
  // AWS router's namespace handle is carried into it so that updown scripts can reach cgwd-aws.
  mkdirSync(path.join(dir, 'run', 'netns'), { recursive: true, mode: 0o700 });
  writePrivateFile(path.join(dir, 'run', 'netns', NS.aws), '');
  const pid = spawnDaemonIn(
    namespace,
    ['sh', '-c', `mount --bind /run/netns/${NS.aws} ${dir}/run/netns/${NS.aws} && mount --rbind ${dir}/run /run && exec ${CHARON}`],
    path.join(dir, 'charon.out'),
    { STRONGSWAN_CONF: path.join(dir, 'strongswan.conf') },
  );
  const vici = `unix://${dir}/charon.vici`;
  await waitFor(`charon ${name} to open its vici socket`, async () => {
    if (!isAlive(pid)) throw new CgwdError('LAB_CHARON_EXITED', `charon ${name} exited; see ${dir}/charon.out`);
    return existsSync(path.join(dir, 'charon.vici')) ? true : undefined;
  }, 15_000);
  await waitFor(`charon ${name} to create its TUN`, async () => {
    const r = await runCommand('ip', ['-n', namespace, 'link', 'show', 'ipsec0']);
    return r.code === 0 ? true : undefined;
  }, 15_000);
  // kernel-libipsec installs a policy rule to table 220 holding 0/0 via its TUN. The lab
  // routes by hand, so remove the rule: otherwise it would swallow all traffic (IKE included).
  await waitFor(`charon ${name} routing rule`, async () => {
    const rules = await ipIn(namespace, 'rule', 'show');
    if (!/lookup 220/.test(rules)) return undefined;
    await ipIn(namespace, 'rule', 'del', 'lookup', '220');
    return true;
  }, 5_000).catch(() => undefined);
  return { name, namespace, dir, pid, vici };
}

export async function swanctl(instance: Pick<CharonInstance, 'vici'>, ...args: string[]): Promise<string> {
  return run('swanctl', [...args, '--uri', instance.vici], 60_000);
}

export async function loadSwanctl(instance: CharonInstance, connections: readonly SwanConnection[]): Promise<void> {
  const file = path.join(instance.dir, 'swanctl.conf');
  writePrivateFile(file, swanctlConf(connections));
  await swanctl(instance, '--load-all', '--noprompt', '--file', file);
}

/** Starts (or restarts) the AWS endpoint of one tunnel and plugs its TUN into the AWS router. */
export async function startAwsEndpoint(plan: LabPlan, stateDir: string, t: LabTunnel, logLevel = 1): Promise<CharonInstance> {
  // A stand-in `ipsec0` from an earlier run must go, or charon can't create its own.
  await runCommand('ip', ['-n', t.namespace, 'link', 'del', 'ipsec0']);
  await runCommand('ip', ['-n', NS.aws, 'link', 'del', t.awsTun]);
  const instance = await startCharon(stateDir, `aws${t.index}`, t.namespace, logLevel);
  await ipIn(t.namespace, 'link', 'set', 'ipsec0', 'netns', NS.aws);
  await ipIn(NS.aws, 'link', 'set', 'ipsec0', 'name', t.awsTun);
  await ipIn(NS.aws, 'addr', 'add', `${t.awsInside}/30`, 'dev', t.awsTun);
  await ipIn(NS.aws, 'link', 'set', t.awsTun, 'up');
  await sysctl(NS.aws, `net.ipv4.conf.${t.awsTun}.rp_filter`, '0');
  // libipsec installs `0/0 dev ipsec0` for each CHILD SA and fails the SA if it can't.
  await ipIn(t.namespace, 'tuntap', 'add', 'ipsec0', 'mode', 'tun');
  await ipIn(t.namespace, 'link', 'set', 'ipsec0', 'up');
  await loadSwanctl(instance, [awsConnection(plan, t, stateDir)]);
  return instance;
}

// ---------------------------------------------------------------------------
// BIRD

export async function startBird(stateDir: string, name: string, namespace: string, conf: string): Promise<number> {
  const dir = path.join(stateDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writePrivateFile(path.join(dir, 'bird.conf'), conf);
  const pid = spawnDaemonIn(
    namespace,
    ['bird', '-f', '-c', path.join(dir, 'bird.conf'), '-s', path.join(dir, 'bird.ctl')],
    path.join(dir, 'bird.out'),
  );
  await waitFor(`BIRD ${name} control socket`, async () => {
    if (!isAlive(pid)) throw new CgwdError('LAB_BIRD_EXITED', `BIRD ${name} exited; see ${dir}/bird.out`);
    return existsSync(path.join(dir, 'bird.ctl')) ? true : undefined;
  }, 10_000);
  return pid;
}

export function birdc(stateDir: string, name: string, ...args: string[]): Promise<string> {
  return run('birdc', ['-s', path.join(stateDir, name, 'bird.ctl'), ...args]);
}

function awsRouterBird(plan: LabPlan): string {
  const neighbors: BgpNeighbor[] = plan.tunnels.map((t) => ({
    name: `tunnel${t.index}`,
    localAddress: t.awsInside,
    localAsn: t.tunnel.aws.bgp?.asn ?? 64512,
    neighborAddress: t.customerInside,
    neighborAsn: t.tunnel.customer.bgp?.asn ?? 65000,
    interfaceName: t.awsTun,
    holdTime: t.tunnel.aws.bgp?.holdTime ?? 30,
  }));
  return birdConf({ routerId: plan.vpc.router, originate: [plan.vpc.prefix, ...(plan.options.awsExtraPrefixes ?? [])], neighbors });
}

// ---------------------------------------------------------------------------
// up / down / status

export interface LabUpRequest {
  config: VpnConfig;
  configPath: string;
  options: LabOptions;
  stateDir?: string;
  /** strongSwan log level for ike/chd on the AWS side (4 logs keys; lab only). */
  awsLogLevel?: number;
  log?: (line: string) => void;
}

export async function labUp(request: LabUpRequest): Promise<LabState> {
  const log = request.log ?? (() => {});
  const stateDir = request.stateDir ?? labDir();
  const plan = buildLabPlan(request.config, request.options);
  await ensureLabPackages(log);
  await labDown(stateDir);
  privateDirectory(stateDir); // 0700, ours, or refused (LabStateDirError)
  const state: LabState = {
    stateDir,
    configPath: request.configPath,
    options: request.options,
    awsLogLevel: request.awsLogLevel ?? 1,
    pids: {},
    startedAt: new Date().toISOString(),
  };
  writeLabState(state);
  try {
    log('building namespaces and links');
    await buildTopology(plan);
    for (const t of request.options.awsSide === 'cgwd' ? [] : plan.tunnels) {
      log(`starting the AWS endpoint of tunnel ${t.index} (${t.awsOutside})`);
      const charon = await startAwsEndpoint(plan, stateDir, t, request.awsLogLevel);
      notePid(state, charon.name, charon.pid);
      writeLabState(state);
    }
    if (plan.config.routing === 'bgp' && request.options.awsSide !== 'cgwd') {
      log(`starting BIRD as the AWS router (AS ${plan.amazonAsn ?? '?'})`);
      notePid(state, 'bird-aws', await startBird(stateDir, 'bird-aws', NS.aws, awsRouterBird(plan)));
      writeLabState(state);
    }
    return state;
  } catch (error) {
    await labDown(stateDir);
    throw error;
  }
}

function requireState(stateDir: string): LabState {
  const state = readLabState(stateDir);
  if (!state) throw new CgwdError('LAB_NOT_UP', `no lab state in ${stateDir}: run \`cgwd lab up\` first`);
  return state;
}

/**
 * Gives the AWS side a new configuration (e.g. another pinned suite or short
 * lifetimes) without rebuilding the lab: the connection is reloaded and any
 * SA it had is closed, as when AWS applies ModifyVpnTunnelOptions.
 */
export async function reconfigureAws(config: VpnConfig, options: LabOptions, stateDir = labDir()): Promise<void> {
  const state = requireState(stateDir);
  const plan = buildLabPlan(config, options);
  for (const t of plan.tunnels) {
    const instance = { vici: `unix://${path.join(stateDir, `aws${t.index}`, 'charon.vici')}` };
    const file = path.join(stateDir, `aws${t.index}`, 'swanctl.conf');
    writePrivateFile(file, swanctlConf([awsConnection(plan, t, stateDir)]));
    await swanctl(instance, '--load-all', '--noprompt', '--file', file);
    await swanctl(instance, '--terminate', '--ike', 'aws', '--force', '--timeout', '2').catch(() => undefined);
  }
  state.options = options;
  writeLabState(state);
}

/** Kills the AWS endpoint of one tunnel (charon) without a goodbye, as a silent endpoint failure. */
export async function stopAwsEndpoint(index: 1 | 2, stateDir = labDir()): Promise<void> {
  const state = requireState(stateDir);
  const pid = state.pids[`aws${index}`];
  if (pid === undefined || !isOurs(state, `aws${index}`)) return;
  process.kill(pid, 'SIGKILL');
  await waitFor(`charon aws${index} to die`, async () => (isAlive(pid) ? undefined : true), 5_000);
}

/** Restarts the AWS endpoint of one tunnel: state lost, as after an endpoint replacement. */
export async function restartAwsEndpoint(config: VpnConfig, index: 1 | 2, stateDir = labDir()): Promise<void> {
  const state = requireState(stateDir);
  await stopAwsEndpoint(index, stateDir);
  const plan = buildLabPlan(config, state.options);
  const t = plan.tunnels[index - 1];
  if (!t) return;
  const charon = await startAwsEndpoint(plan, stateDir, t, state.awsLogLevel);
  notePid(state, charon.name, charon.pid);
  writeLabState(state);
}

/**
 * Cuts one tunnel silently in the internet router: every packet to or from its AWS outside
 * address is dropped (no ICMP, no RST), as when a path dies. `false` restores it.
 */
export async function cutTunnel(awsOutside: string, cut: boolean): Promise<void> {
  if (!cut) {
    await runCommand('ip', ['netns', 'exec', NS.inet, 'nft', 'delete', 'table', 'ip', 'cgwd_cut']);
    return;
  }
  const rules = [
    'add table ip cgwd_cut',
    'add chain ip cgwd_cut cut { type filter hook forward priority 0 ; }',
    `add rule ip cgwd_cut cut ip daddr ${awsOutside} drop`,
    `add rule ip cgwd_cut cut ip saddr ${awsOutside} drop`,
  ];
  for (const rule of rules) await execIn(NS.inet, 'nft', rule.split(' '));
}

/** Restarts BIRD on the AWS router (its sessions drop and must be re-established). */
export async function restartAwsBird(config: VpnConfig, stateDir = labDir()): Promise<void> {
  const state = requireState(stateDir);
  const pid = state.pids['bird-aws'];
  if (pid !== undefined && isOurs(state, 'bird-aws')) await stopPid(pid);
  rmSync(path.join(stateDir, 'bird-aws', 'bird.ctl'), { force: true });
  notePid(state, 'bird-aws', await startBird(stateDir, 'bird-aws', NS.aws, awsRouterBird(buildLabPlan(config, state.options))));
  writeLabState(state);
}

/** Stops every process the lab recorded and deletes its namespaces. Safe to run twice. */
export async function labDown(stateDir = labDir()): Promise<void> {
  const state = readLabState(stateDir);
  if (state) {
    await Promise.all(pidsToStop(state).map((pid) => stopPid(pid)));
  }
  for (const name of new Set([...ALL_NAMESPACES, ...(state?.namespaces ?? [])])) {
    if (await namespaceExists(name)) await run('ip', ['netns', 'del', name]);
  }
  if (state) rmSync(stateDir, { recursive: true, force: true });
}

export interface LabStatus {
  up: boolean;
  stateDir: string;
  configPath?: string;
  nat?: boolean;
  namespaces: Record<string, boolean>;
  processes: Record<string, { pid: number; alive: boolean }>;
  tunnels: { index: number; ikeSa: string; childSa: string }[];
  bgp: { name: string; state: string; info: string }[];
}

export async function labStatus(stateDir = labDir()): Promise<LabStatus> {
  const state = readLabState(stateDir);
  const namespaces: Record<string, boolean> = {};
  for (const name of ALL_NAMESPACES) namespaces[name] = await namespaceExists(name);
  const processes: LabStatus['processes'] = {};
  for (const [name, pid] of Object.entries(state?.pids ?? {})) processes[name] = { pid, alive: state !== undefined && isOurs(state, name) };
  const tunnels: LabStatus['tunnels'] = [];
  const bgp: LabStatus['bgp'] = [];
  if (state) {
    for (const index of [1, 2] as const) {
      if (!processes[`aws${index}`]?.alive) continue;
      const sas = await runCommand('swanctl', ['--list-sas', '--uri', `unix://${path.join(stateDir, `aws${index}`, 'charon.vici')}`]);
      tunnels.push({ index, ...summariseSas(sas.stdout) });
    }
    if (processes['bird-aws']?.alive) {
      const out = await birdc(stateDir, 'bird-aws', 'show', 'protocols').catch(() => '');
      for (const line of out.split('\n')) {
        const m = /^(tunnel\d)\s+BGP\s+\S+\s+(\S+)\s+\S+\s*(.*)$/.exec(line.trim());
        if (m) bgp.push({ name: m[1] ?? '', state: m[2] ?? '', info: (m[3] ?? '').trim() });
      }
    }
  }
  const up = ALL_NAMESPACES.every((n) => namespaces[n]) && Object.values(processes).every((p) => p.alive);
  return {
    up: up && state !== undefined,
    stateDir,
    ...(state ? { configPath: state.configPath, nat: state.options.nat } : {}),
    namespaces,
    processes,
    tunnels,
    bgp,
  };
}

/** Reduces `swanctl --list-sas` output to the IKE and CHILD SA states. */
export function summariseSas(text: string): { ikeSa: string; childSa: string } {
  const ike = /#\d+,\s+([A-Z_]+),\s+(IKEv[12])/.exec(text);
  const child = /#\d+,\s+reqid \d+,\s+([A-Z_]+),\s+([A-Za-z-]+),\s+(\S+)/.exec(text);
  return {
    ikeSa: ike ? `${ike[1] ?? ''} ${ike[2] ?? ''}` : 'none',
    childSa: child ? `${child[1] ?? ''} ${child[3] ?? ''}` : 'none',
  };
}

export { namespaceExists, sleep, execInResult };
