/**
 * The several-connection lab (multi-plan.ts draws it): one emulated virtual private gateway hosting
 * N VPN connections, and customer sites with one or two customer-gateway boxes each. It shares the
 * single-connection lab's state file and PID bookkeeping (lab.ts), so `cgwd lab down` stops what
 * either made and deletes the namespaces recorded in the state.
 *
 * Order of `up`:
 *   1. `labDown` (whatever an earlier lab of either kind left);
 *   2. namespaces, the internet router, each box's uplink and LAN port, each site's LAN bridge
 *      with its host, the VPC;
 *   3. per connection and tunnel: a charon in its endpoint namespace, its TUN moved into `aws`
 *      (as lab.ts does for one connection);
 *   4. one BIRD in `aws` with a session per tunnel of every connection.
 *
 * Re-advertising between connections (VPN CloudHub). A virtual private gateway re-advertises the
 * routes it learns from one VPN connection to its other connections, with its own ASN prepended
 * ("Providing secure communication between sites using VPN CloudHub", Site-to-Site VPN User
 * Guide). BIRD does that here: each session exports what the router originates plus every BGP route
 * learned over another connection's sessions (eBGP export prepends the Amazon ASN). Routes are not
 * reflected into the connection they came from. For the same prefix from two connections (the HA
 * pair) BIRD's best path (shortest AS path first, as AWS's route selection) decides which tunnel
 * the kernel of the AWS router uses.
 */
import path from 'node:path';
import { rmSync } from 'node:fs';
import { CgwdError } from '../errors.js';
import { birdConf, type BgpNeighbor } from './bird.js';
import { execIn, ipIn, runCommand } from '../system/exec.js';
import {
  addNamespace,
  awsConnection,
  ensureLabPackages,
  labDir,
  labDown,
  loadSwanctl,
  readLabState,
  startBird,
  startCharon,
  sysctl,
  wireEndpoint,
  veth,
  wireVpc,
  type LabState,
} from './lab.js';
import { buildMultiLabPlan, type MultiBox, type MultiConnection, type MultiLabPlan, type MultiLabSpec } from './multi-plan.js';
import { NS } from './plan.js';
import { privateDirectory, processStartTime, writePrivateFile } from './state-dir.js';

export const MULTI_BIRD = 'bird-aws';

function note(state: LabState, name: string, pid: number): void {
  state.pids[name] = pid;
  const start = processStartTime(pid);
  state.starts = { ...state.starts };
  if (start !== undefined) state.starts[name] = start;
}

function save(state: LabState): void {
  writePrivateFile(path.join(state.stateDir, 'lab.json'), JSON.stringify(state, null, 2));
}

/** Builds the links, addresses and routes of one box (also used when a powered-off box returns). */
export async function buildBox(plan: MultiLabPlan, box: MultiBox): Promise<void> {
  const site = plan.sites.find((s) => s.id === box.site);
  if (!site) throw new CgwdError('LAB_PLAN', `box ${box.id} has no site`);
  await addNamespace(box.namespace);
  await veth(box.namespace, 'uplink', NS.inet, box.uplink.inetIf);
  await ipIn(box.namespace, 'addr', 'add', `${box.uplink.box}/31`, 'dev', 'uplink');
  await ipIn(NS.inet, 'addr', 'add', `${box.uplink.inet}/31`, 'dev', box.uplink.inetIf);
  for (const address of box.outside) {
    await ipIn(box.namespace, 'addr', 'add', `${address}/32`, 'dev', 'uplink');
    await ipIn(NS.inet, 'route', 'replace', `${address}/32`, 'via', box.uplink.box);
  }
  await ipIn(box.namespace, 'route', 'add', 'default', 'via', box.uplink.inet);
  await veth(box.namespace, box.lanIf, site.namespace, box.bridgePort);
  await ipIn(site.namespace, 'link', 'set', box.bridgePort, 'master', 'br0');
  await ipIn(box.namespace, 'addr', 'add', `${box.lanAddress}/24`, 'dev', box.lanIf);
  if (site.gatewayMode === 'box' && site.boxes[0]?.id === box.id) {
    await ipIn(box.namespace, 'addr', 'add', `${site.gateway}/24`, 'dev', box.lanIf);
  }
  await sysctl(box.namespace, 'net.ipv4.ip_forward', '1');
  await sysctl(box.namespace, 'net.ipv4.conf.all.rp_filter', '0');
  await sysctl(box.namespace, 'net.ipv4.conf.default.rp_filter', '0');
}

async function buildTopology(plan: MultiLabPlan): Promise<void> {
  for (const ns of [NS.inet, NS.aws, NS.vpc]) await addNamespace(ns);
  for (const c of plan.connections) for (const t of c.tunnels) await addNamespace(t.namespace);
  for (const site of plan.sites) {
    await addNamespace(site.namespace);
    await ipIn(site.namespace, 'link', 'add', 'br0', 'type', 'bridge');
    await ipIn(site.namespace, 'link', 'set', 'br0', 'up');
    await ipIn(site.namespace, 'addr', 'add', `${site.host}/24`, 'dev', 'br0');
    await ipIn(site.namespace, 'route', 'add', 'default', 'via', site.gateway);
  }
  for (const box of plan.boxes) await buildBox(plan, box);
  for (const c of plan.connections) {
    for (const t of c.tunnels) await wireEndpoint(t, 'aws-inet', t.inetIf);
  }
  await wireVpc(plan.vpc);
  for (const ns of [NS.inet, NS.aws]) {
    await sysctl(ns, 'net.ipv4.ip_forward', '1');
    await sysctl(ns, 'net.ipv4.conf.all.rp_filter', '0');
    await sysctl(ns, 'net.ipv4.conf.default.rp_filter', '0');
  }
}

async function startEndpoint(stateDir: string, c: MultiConnection, t: MultiConnection['tunnels'][0], logLevel: number): Promise<number> {
  await runCommand('ip', ['-n', t.namespace, 'link', 'del', 'ipsec0']);
  await runCommand('ip', ['-n', NS.aws, 'link', 'del', t.awsTun]);
  const instance = await startCharon(stateDir, t.charon, t.namespace, logLevel);
  await ipIn(t.namespace, 'link', 'set', 'ipsec0', 'netns', NS.aws);
  await ipIn(NS.aws, 'link', 'set', 'ipsec0', 'name', t.awsTun);
  await ipIn(NS.aws, 'addr', 'add', `${t.awsInside}/30`, 'dev', t.awsTun);
  await ipIn(NS.aws, 'link', 'set', t.awsTun, 'up');
  await sysctl(NS.aws, `net.ipv4.conf.${t.awsTun}.rp_filter`, '0');
  await ipIn(t.namespace, 'tuntap', 'add', 'ipsec0', 'mode', 'tun');
  await ipIn(t.namespace, 'link', 'set', 'ipsec0', 'up');
  await loadSwanctl(instance, [awsConnection(c.plan, t, stateDir)]);
  return instance.pid;
}

/** BIRD configuration of the virtual private gateway: every connection's sessions, CloudHub re-advertising. */
export function vgwBird(plan: MultiLabPlan): string {
  const neighbors: BgpNeighbor[] = plan.connections.flatMap((c) =>
    c.tunnels.map((t) => ({
      name: t.bgpName,
      localAddress: t.awsInside,
      localAsn: t.tunnel.aws.bgp?.asn ?? 64512,
      neighborAddress: t.customerInside,
      neighborAsn: t.tunnel.customer.bgp?.asn ?? 65000,
      interfaceName: t.awsTun,
      holdTime: t.tunnel.aws.bgp?.holdTime ?? 30,
      // Originated prefixes, and what other connections' sessions taught us (never reflected into
      // the connection it came from: its sessions are named c<n>t<k>).
      exportWhere: `proto = "originated" || (source = RTS_BGP && !(proto ~ "c${c.index + 1}t*"))`,
    })),
  );
  return birdConf({ routerId: plan.vpc.router, originate: [plan.vpc.prefix], neighbors });
}

export interface MultiLabUpRequest {
  spec: MultiLabSpec;
  stateDir?: string;
  awsLogLevel?: number;
  log?: (line: string) => void;
}

export interface MultiLabState {
  state: LabState;
  plan: MultiLabPlan;
}

export async function multiLabUp(request: MultiLabUpRequest): Promise<MultiLabState> {
  const log = request.log ?? (() => {});
  const stateDir = request.stateDir ?? labDir();
  const plan = buildMultiLabPlan(request.spec);
  await ensureLabPackages(log);
  await labDown(stateDir);
  privateDirectory(stateDir);
  const state: LabState = {
    stateDir,
    configPath: plan.connections.map((c) => c.configPath).join(','),
    options: { nat: false },
    awsLogLevel: request.awsLogLevel ?? 1,
    pids: {},
    namespaces: plan.namespaces,
    startedAt: new Date().toISOString(),
  };
  save(state);
  try {
    log(`building ${plan.namespaces.length} namespaces: ${plan.connections.length} connections, ${plan.sites.length} sites, ${plan.boxes.length} boxes`);
    await buildTopology(plan);
    for (const c of plan.connections) {
      for (const t of c.tunnels) {
        log(`starting the AWS endpoint of connection ${c.index + 1} tunnel ${t.index} (${t.awsOutside})`);
        note(state, t.charon, await startEndpoint(stateDir, c, t, state.awsLogLevel));
        save(state);
      }
    }
    log('starting BIRD as the virtual private gateway');
    note(state, MULTI_BIRD, await startBird(stateDir, MULTI_BIRD, NS.aws, vgwBird(plan)));
    save(state);
    return { state, plan };
  } catch (error) {
    await labDown(stateDir);
    throw error;
  }
}

/** Records a process started in a box (cgwd, keepalived) so that `lab down` stops it too. */
export function recordMultiPid(stateDir: string, name: string, pid: number): void {
  const state = readLabState(stateDir);
  if (!state) throw new CgwdError('LAB_NOT_UP', `no lab state in ${stateDir}`);
  note(state, name, pid);
  save(state);
}

/** Deletes a box's namespace (its links go with it): the box is powered off. */
export async function deleteBox(plan: MultiLabPlan, box: MultiBox): Promise<void> {
  for (const address of box.outside) await runCommand('ip', ['-n', NS.inet, 'route', 'del', `${address}/32`]);
  // The peers first: the kernel tears a deleted namespace down asynchronously, and a box built again
  // at once would find its old veth names still taken.
  await runCommand('ip', ['-n', NS.inet, 'link', 'del', box.uplink.inetIf]);
  const site = plan.sites.find((s) => s.id === box.site);
  if (site) await runCommand('ip', ['-n', site.namespace, 'link', 'del', box.bridgePort]);
  await runCommand('ip', ['netns', 'del', box.namespace]);
  rmSync(`/run/netns/${box.namespace}`, { force: true });
}

/**
 * Cuts a box's uplink silently in the internet router (every packet to or from it dropped, no ICMP),
 * as when the office's line dies; `false` restores it.
 */
export async function cutUplink(box: MultiBox, cut: boolean): Promise<void> {
  const table = `cgwd_cut_box${box.id}`;
  if (!cut) {
    await runCommand('ip', ['netns', 'exec', NS.inet, 'nft', 'delete', 'table', 'ip', table]);
    return;
  }
  const rules = [
    `add table ip ${table}`,
    `add chain ip ${table} cut { type filter hook forward priority 0 ; }`,
    `add rule ip ${table} cut iifname ${box.uplink.inetIf} drop`,
    `add rule ip ${table} cut oifname ${box.uplink.inetIf} drop`,
  ];
  for (const rule of rules) await execIn(NS.inet, 'nft', rule.split(' '));
}
