/**
 * NAT rebinding in the lab: the source NAT in `inet` (lab option `nat: true`) forgets the
 * customer gateway's mappings, as after a NAT router reboot or a carrier-grade NAT timeout.
 *
 * The conntrack entries of the cgw's flows are deleted while its packets are held back for a
 * moment, and from then on its UDP is mapped into another port range (40000–40999), as a NAT that
 * rebooted or a carrier-grade NAT whose mapping timed out picks other ports. (Without the new range
 * the lab's NAT, measured, hands the same public ports out again and nothing rebinds: Linux keeps
 * the source port when it is free.) From then on AWS answers
 * the old port into nothing until it hears an authenticated IKE message from the new one
 * (RFC 7296 §2.23). Needs conntrack(8) (.ci/run installs it).
 */
import { execIn, runCommand, sleep } from '../system/exec.js';
import { NS } from './plan.js';

const HOLD_TABLE = 'cgwd_rebind';

/** Forgets every NAT mapping of `cgwAddress` (its transit address), holding its packets for `holdMs`. */
export async function forgetNatMappings(cgwAddress: string, publicAddress: string, holdMs = 50): Promise<void> {
  const rules = [
    `add table ip ${HOLD_TABLE}`,
    // Before conntrack (priority -200): held packets create no new mapping.
    `add chain ip ${HOLD_TABLE} hold { type filter hook prerouting priority -400 ; }`,
    `add rule ip ${HOLD_TABLE} hold ip saddr ${cgwAddress} drop`,
  ];
  for (const rule of rules) await execIn(NS.inet, 'nft', rule.split(' '));
  try {
    // Exit status 1 when nothing matched: fine (no mapping to forget).
    await runCommand('ip', ['netns', 'exec', NS.inet, 'conntrack', '-D', '-s', cgwAddress]);
    // Inserted before the lab's plain SNAT rule (src/lab/lab.ts), in the same table; gone with the lab.
    await execIn(NS.inet, 'nft', ['insert', 'rule', 'ip', 'cgwd_nat', 'postrouting', 'ip', 'saddr', cgwAddress, 'meta', 'l4proto', 'udp', 'snat', 'to', `${publicAddress}:40000-40999`]);
    await sleep(holdMs);
  } finally {
    await runCommand('ip', ['netns', 'exec', NS.inet, 'nft', 'delete', 'table', 'ip', HOLD_TABLE]);
  }
}

/** The public source ports the NAT currently maps the cgw's UDP flows to (conntrack's reply tuples). */
export async function natPublicPorts(cgwAddress: string): Promise<number[]> {
  const r = await runCommand('ip', ['netns', 'exec', NS.inet, 'conntrack', '-L', '-p', 'udp', '-s', cgwAddress]);
  const ports: number[] = [];
  for (const line of r.stdout.split('\n')) {
    // "udp 17 29 src=CGW dst=AWS sport=4500 dport=4500 src=AWS dst=PUBLIC sport=4500 dport=NNNN ..."
    const m = /src=\S+ dst=\S+ sport=\d+ dport=\d+ .*src=\S+ dst=\S+ sport=\d+ dport=(\d+)/.exec(line);
    if (m) ports.push(Number(m[1]));
  }
  return ports;
}
