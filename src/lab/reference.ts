/**
 * The lab's reference customer gateway: strongSwan (kernel-libipsec) and BIRD
 * in `cgwd-cgw`, configured the way AWS's own Linux recipe does it. It proves
 * the emulated AWS side works before cgwd takes this place.
 *
 * libipsec has one TUN per daemon and picks the outbound SA by selector, so
 * with 0.0.0.0/0 on both tunnels only one tunnel can carry traffic at a time:
 * the reference brings them up one after the other (`useTunnel`).
 */
import path from 'node:path';
import { birdConf, type BgpNeighbor } from './bird.js';
import { execInResult, ipIn, waitFor } from '../system/exec.js';
import { birdc, labDir, loadSwanctl, recordLabPid, startBird, startCharon, swanctl, type CharonInstance } from './lab.js';
import { NS, type LabPlan, type LabTunnel } from './plan.js';
import type { SwanConnection } from './strongswan.js';
import { CgwdError } from '../errors.js';

export interface ReferenceCustomer {
  charon: CharonInstance;
  birdPid: number | null;
  plan: LabPlan;
  stateDir: string;
}

function customerConnection(plan: LabPlan, t: LabTunnel): SwanConnection {
  const tunnel = t.tunnel;
  return {
    name: `tunnel${t.index}`,
    version: 2,
    localAddress: '%any',
    remoteAddress: t.awsOutside,
    localId: t.customerOutside,
    remoteId: t.awsOutside,
    psk: tunnel.psk.reveal(),
    // The file's minimum suite, as a device configured from AWS's sample would propose.
    ike: { encryption: tunnel.ike.encryption, integrity: tunnel.ike.integrity, dhGroups: tunnel.ike.dhGroups },
    esp: { encryption: tunnel.ipsec.encryption, integrity: tunnel.ipsec.integrity, dhGroups: tunnel.ipsec.pfsGroups },
    ikeLifetime: tunnel.ike.lifetimeSeconds,
    childLifetime: tunnel.ipsec.lifetimeSeconds,
    dpdDelay: tunnel.dpd.intervalSeconds,
    role: 'initiator',
  };
}

export async function startReferenceCustomer(plan: LabPlan, stateDir = labDir()): Promise<ReferenceCustomer> {
  const charon = await startCharon(stateDir, 'cgw', NS.cgw);
  recordLabPid(stateDir, 'cgw', charon.pid);
  for (const t of plan.tunnels) {
    await ipIn(NS.cgw, 'addr', 'add', `${t.customerInside}/30`, 'dev', 'ipsec0');
  }
  await ipIn(NS.cgw, 'link', 'set', 'ipsec0', 'up');
  await loadSwanctl(charon, plan.tunnels.map((t) => customerConnection(plan, t)));
  let birdPid: number | null = null;
  if (plan.config.routing === 'bgp') {
    const neighbors: BgpNeighbor[] = plan.tunnels.map((t) => ({
      name: `tunnel${t.index}`,
      localAddress: t.customerInside,
      localAsn: t.tunnel.customer.bgp?.asn ?? 65000,
      neighborAddress: t.awsInside,
      neighborAsn: t.tunnel.aws.bgp?.asn ?? 64512,
      interfaceName: 'ipsec0',
      holdTime: t.tunnel.customer.bgp?.holdTime ?? 30,
    }));
    birdPid = await startBird(stateDir, 'bird-cgw', NS.cgw, birdConf({ routerId: plan.customerTransit.cgw, originate: [plan.onprem.prefix], neighbors }));
    recordLabPid(stateDir, 'bird-cgw', birdPid);
    for (const t of plan.tunnels) {
      await birdc(stateDir, 'bird-cgw', 'disable', `tunnel${t.index}`);
      await birdc(stateDir, 'bird-aws', 'disable', `tunnel${t.index}`);
    }
  }
  return { charon, birdPid, plan, stateDir };
}

/** Makes tunnel `index` the one carrying traffic: the other is torn down, this one initiated. */
export async function useTunnel(ref: ReferenceCustomer, index: 1 | 2): Promise<void> {
  const other = index === 1 ? 2 : 1;
  await swanctl(ref.charon, '--terminate', '--ike', `tunnel${other}`, '--timeout', '10').catch(() => undefined);
  if (ref.birdPid !== null) {
    await birdc(ref.stateDir, 'bird-cgw', 'disable', `tunnel${other}`);
    await birdc(ref.stateDir, 'bird-aws', 'disable', `tunnel${other}`);
  } else {
    // The AWS side routes to the site over the tunnel whose SA is up (its updown hook).
    await ipIn(NS.cgw, 'route', 'replace', ref.plan.vpc.prefix, 'dev', 'ipsec0');
  }
  await swanctl(ref.charon, '--initiate', '--child', `tunnel${index}`, '--timeout', '30');
  if (ref.birdPid !== null) {
    await birdc(ref.stateDir, 'bird-cgw', 'enable', `tunnel${index}`);
    await birdc(ref.stateDir, 'bird-aws', 'enable', `tunnel${index}`);
    await waitFor(`BGP session tunnel${index} to be Established on both sides`, async () => {
      const a = await birdc(ref.stateDir, 'bird-aws', 'show', 'protocols', `tunnel${index}`);
      const c = await birdc(ref.stateDir, 'bird-cgw', 'show', 'protocols', `tunnel${index}`);
      return /Established/.test(a) && /Established/.test(c) ? true : undefined;
    }, 60_000, 250);
    await waitFor('routes exchanged over BGP', async () => {
      const cgwRoutes = await ipIn(NS.cgw, 'route', 'show', ref.plan.vpc.prefix);
      const awsRoutes = await ipIn(NS.aws, 'route', 'show', ref.plan.onprem.prefix);
      const t = ref.plan.tunnels[index - 1];
      return t && cgwRoutes.includes(t.awsInside) && awsRoutes.includes(t.customerInside) ? true : undefined;
    }, 30_000, 250);
  }
}

export interface PingResult {
  sent: number;
  received: number;
}

export async function ping(fromNs: string, to: string, count = 3, intervalSeconds = 0.2): Promise<PingResult> {
  const r = await execInResult(fromNs, 'ping', ['-n', '-q', '-c', String(count), '-i', String(intervalSeconds), '-W', '1', to], 30_000);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  if (!m) throw new CgwdError('LAB_PING_OUTPUT', `unexpected ping output: ${r.stdout.slice(0, 200)}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

/** ESP packet counters of the AWS endpoint of one tunnel, from `swanctl --list-sas`. */
export async function awsEndpointCounters(stateDir: string, index: 1 | 2): Promise<{ inPackets: number; outPackets: number }> {
  const out = await swanctl({ vici: `unix://${path.join(stateDir, `aws${index}`, 'charon.vici')}` }, '--list-sas');
  const inM = /\bin\s+[0-9a-f]+[^,]*,\s+\d+ bytes,\s+(\d+) packets/.exec(out);
  const outM = /\bout\s+[0-9a-f]+[^,]*,\s+\d+ bytes,\s+(\d+) packets/.exec(out);
  return { inPackets: Number(inM?.[1] ?? 0), outPackets: Number(outM?.[1] ?? 0) };
}

export async function stopReferenceCustomer(ref: ReferenceCustomer): Promise<void> {
  await swanctl(ref.charon, '--terminate', '--ike', 'tunnel1', '--timeout', '5').catch(() => undefined);
  await swanctl(ref.charon, '--terminate', '--ike', 'tunnel2', '--timeout', '5').catch(() => undefined);
}
