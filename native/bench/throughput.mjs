#!/usr/bin/env node
/*
 * Data-plane throughput figures (not a test): two data planes in this process,
 * each in its own network namespace (cgwd-dp-bench-*), TUN to TUN over
 * ESP-in-UDP on a veth pair; iperf3 client in A, server in B, through the
 * tunnel. Prints TCP Mbit/s, UDP packets/s for 1400-byte and small packets
 * (unlimited offered load, and the best rate found at <= 1 % loss), CPU
 * of the two packet threads (µs per packet per hop: each packet is encrypted at
 * one data plane and decrypted at the other, two hops), where the kernel
 * dropped, and peak RSS.
 *
 *   sudo node native/bench/throughput.mjs [--suite gcm128|gcm256|cbc128-sha1|cbc256-sha256] [--seconds 5]
 *                                         [--no-tun-offload] [--no-udp-offload]
 *
 * Requires root, iperf3 and a built addon (npm ci). Everything it creates is
 * removed on exit; processes it starts are stopped by their PIDs.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const addon = require('../build/Release/cgwd_dataplane.node');
const exec = promisify(execFile);

const SUITES = {
  gcm128: { encryption: 'aes128-gcm16', key: 20, mtu: 1438 },
  gcm256: { encryption: 'aes256-gcm16', key: 36, mtu: 1438 },
  'cbc128-sha1': { encryption: 'aes128-cbc', key: 16, integrity: 'hmac-sha1-96', integ: 20, mtu: 1422 },
  'cbc256-sha256': { encryption: 'aes256-cbc', key: 32, integrity: 'hmac-sha256-128', integ: 32, mtu: 1422 },
};

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const suites = (opt('suite', 'gcm128,cbc128-sha1')).split(',');
const seconds = Number(opt('seconds', '5'));
const offload = { tunOffload: !args.includes('--no-tun-offload'), udpOffload: !args.includes('--no-udp-offload') };

const tag = randomBytes(2).toString('hex');
const nsA = `cgwd-dp-bench-${tag}-a`;
const nsB = `cgwd-dp-bench-${tag}-b`;
const made = [];
const children = [];
const planes = [];

const ip = (...a) => exec('ip', a);
const inNs = (ns, file, a, timeout = 120_000) => exec('ip', ['netns', 'exec', ns, file, ...a], { timeout, maxBuffer: 64 << 20 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function cleanup() {
  for (const p of planes.splice(0)) p.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGTERM');
  for (const ns of made.splice(0)) await exec('ip', ['netns', 'del', ns]).catch(() => {});
}

async function setup() {
  for (const ns of [nsA, nsB]) {
    await ip('netns', 'add', ns);
    made.push(ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  await ip('-n', nsA, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', nsB);
  await ip('-n', nsA, 'addr', 'add', '10.99.0.1/24', 'dev', 'veth-a');
  await ip('-n', nsB, 'addr', 'add', '10.99.0.2/24', 'dev', 'veth-b');
  await ip('-n', nsA, 'link', 'set', 'veth-a', 'up');
  await ip('-n', nsB, 'link', 'set', 'veth-b', 'up');
  const onEvent = () => {};
  const a = new addon.Dataplane({ netns: `/run/netns/${nsA}`, address: '10.99.0.1', port: 4500, ...offload }, onEvent);
  planes.push(a);
  const b = new addon.Dataplane({ netns: `/run/netns/${nsB}`, address: '10.99.0.2', port: 4500, ...offload }, onEvent);
  planes.push(b);
  return { a, b };
}

function install(a, b, suite, id, mtu) {
  for (const dp of [a, b]) {
    try {
      dp.removeTunnel(1);
    } catch {}
  }
  a.addTunnel({ tunnel: 1, ifname: 'dpt1', mtu, address: '169.254.100.2', prefixLength: 30, peer: '169.254.100.1', txQueueLength: 1000 });
  b.addTunnel({ tunnel: 1, ifname: 'dpt1', mtu, address: '169.254.100.1', prefixLength: 30, peer: '169.254.100.2', txQueueLength: 1000 });
  const kAB = randomBytes(suite.key), kBA = randomBytes(suite.key);
  const iAB = suite.integ ? randomBytes(suite.integ) : undefined, iBA = suite.integ ? randomBytes(suite.integ) : undefined;
  const base = { id, tunnel: 1, encryption: suite.encryption, replayWindow: 1024, remotePort: 4500 };
  const integ = (inK, outK) => (suite.integrity ? { integrity: suite.integrity, integKeyIn: inK, integKeyOut: outK } : {});
  a.installSa({ ...base, spiIn: 0x1001, spiOut: 0x2002, encKeyIn: kBA, encKeyOut: kAB, remoteAddress: '10.99.0.2', ...integ(iBA, iAB) });
  b.installSa({ ...base, spiIn: 0x2002, spiOut: 0x1001, encKeyIn: kAB, encKeyOut: kBA, remoteAddress: '10.99.0.1', ...integ(iAB, iBA) });
}

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU seconds of the packet threads alone (comm "cgwd-dataplane"), from /proc (10 ms ticks). */
function packetThreadSeconds() {
  let ticks = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'cgwd-dataplane') continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {}
  }
  return ticks / 100;
}

/** Where the kernel dropped: A's TUN queue (we read too slowly), B's UDP sockets (we, or iperf3, received too slowly). */
async function kernelDrops() {
  const link = JSON.parse((await inNs(nsA, 'ip', ['-s', '-j', 'link', 'show', 'dpt1'])).stdout)[0];
  const ss = (await inNs(nsB, 'ss', ['-uamn'])).stdout;
  const m = /:4500\s+\S+\s*\n\s*skmem:\([^)]*d(\d+)\)/.exec(ss);
  const ours = m ? Number(m[1]) : 0;
  const snmp = (await inNs(nsB, 'cat', ['/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = snmp[0].split(/\s+/), values = snmp[1].split(/\s+/).map(Number);
  const rcvbuf = values[names.indexOf('RcvbufErrors')];
  // The iperf3 server's socket is gone when we look; B's namespace-wide count minus ours is its share.
  return { tunA: link.stats64.tx.dropped, udp4500B: ours, iperfB: rcvbuf - ours };
}

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);

async function iperf(clientArgs) {
  const server = spawn('ip', ['netns', 'exec', nsB, 'iperf3', '-s', '-1', '-B', '169.254.100.1', '-p', '5201'], { stdio: 'ignore' });
  children.push(server);
  await sleep(300);
  try {
    const { stdout } = await inNs(nsA, 'iperf3', ['-c', '169.254.100.1', '-p', '5201', '-J', '-t', String(seconds), ...clientArgs]);
    return JSON.parse(stdout);
  } finally {
    await sleep(200);
    if (server.exitCode === null && server.pid) process.kill(server.pid, 'SIGTERM');
  }
}

function packetsThrough(a, b) {
  const ca = a.counters(), cb = b.counters();
  return { packets: ca.tunnels[0].packetsOut + ca.tunnels[0].packetsIn + cb.tunnels[0].packetsOut + cb.tunnels[0].packetsIn, ca, cb };
}

async function measure(a, b, label, clientArgs) {
  const before = packetsThrough(a, b);
  const k0 = await kernelDrops();
  const thread0 = packetThreadSeconds();
  const cpu0 = cpuMicros();
  const t0 = process.hrtime.bigint();
  const r = await iperf(clientArgs);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuMicros() - cpu0;
  const threads = packetThreadSeconds() - thread0;
  const k1 = await kernelDrops();
  const after = packetsThrough(a, b);
  const moved = after.packets - before.packets;
  const drops = {};
  for (const [k, v] of Object.entries(after.ca.drops)) if (v - before.ca.drops[k]) drops[`A.${k}`] = v - before.ca.drops[k];
  for (const [k, v] of Object.entries(after.cb.drops)) if (v - before.cb.drops[k]) drops[`B.${k}`] = v - before.cb.drops[k];
  for (const k of Object.keys(k1)) if (k1[k] - k0[k]) drops[`kernel.${k}`] = k1[k] - k0[k];
  const offloads = {
    tso: after.ca.tunnels[0].tsoPackets - before.ca.tunnels[0].tsoPackets + after.cb.tunnels[0].tsoPackets - before.cb.tunnels[0].tsoPackets,
    tunGro: after.ca.tunnels[0].groPackets - before.ca.tunnels[0].groPackets + after.cb.tunnels[0].groPackets - before.cb.tunnels[0].groPackets,
    gso: after.ca.udpGsoSends - before.ca.udpGsoSends + after.cb.udpGsoSends - before.cb.udpGsoSends,
    gro: after.ca.udpGroReceives - before.ca.udpGroReceives + after.cb.udpGroReceives - before.cb.udpGroReceives,
  };
  return { label, r, cpuPerPacket: moved ? (threads * 1e6) / moved : 0, cpuShare: threads / wall, drops, offloads };
}

function udpRow(m, size) {
  const s = m.r.end.sum;
  const pps = s.packets ? (s.packets - s.lost_packets) / s.seconds : 0;
  return {
    test: `${m.label}`,
    'offered Mbit/s': (m.r.end.sum_sent?.bits_per_second ?? s.bits_per_second) / 1e6,
    'delivered pps': Math.round(pps),
    'delivered Mbit/s': +((pps * size * 8) / 1e6).toFixed(1),
    'loss %': +s.lost_percent.toFixed(2),
    'µs/pkt/hop': +m.cpuPerPacket.toFixed(2),
    'dp cores': +m.cpuShare.toFixed(2),
    drops: JSON.stringify(m.drops),
  };
}

async function udpSeries(a, b, size, label) {
  const payload = size - 28;
  const rows = [];
  const flood = await measure(a, b, `${label} unlimited`, ['-u', '-b', '0', '-l', String(payload)]);
  rows.push(udpRow(flood, size));
  let pps = flood.r.end.sum.packets ? ((flood.r.end.sum.packets - flood.r.end.sum.lost_packets) / flood.r.end.sum.seconds) : 1000;
  // Look for the best rate at <= 1 % loss, starting below what got through the flood.
  let rate = pps * 0.95;
  for (let i = 0; i < 5; i++) {
    const m = await measure(a, b, `${label} @${Math.round(rate / 1000)}k pps`, ['-u', '-b', String(Math.round(rate * payload * 8)), '-l', String(payload)]);
    const row = udpRow(m, size);
    rows.push(row);
    if (row['loss %'] <= 1) break;
    rate *= 0.8;
  }
  return rows;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('needs root');
  const { a, b } = await setup();
  const tcpRows = [];
  let id = 1;
  for (const name of suites) {
    const suite = SUITES[name];
    if (!suite) throw new Error(`unknown suite ${name}`);
    install(a, b, suite, id++, suite.mtu);
    const tcp = await measure(a, b, `${name} TCP`, []);
    tcpRows.push({
      suite: name,
      'TCP Mbit/s': Math.round(tcp.r.end.sum_received.bits_per_second / 1e6),
      retransmits: tcp.r.end.sum_sent.retransmits,
      'µs/pkt/hop': +tcp.cpuPerPacket.toFixed(2),
      'dp cores': +tcp.cpuShare.toFixed(2),
      'TUN TSO / UDP GSO / UDP GRO / TUN GRO': `${tcp.offloads.tso} / ${tcp.offloads.gso} / ${tcp.offloads.gro} / ${tcp.offloads.tunGro}`,
    });
    console.log(`\n== ${name} (${suite.encryption}${suite.integrity ? ' / ' + suite.integrity : ''}), TUN MTU ${suite.mtu}, ${seconds} s runs, offloads: TUN ${offload.tunOffload && a.counters().tunnels[0].offload ? 'on' : 'off'}, UDP GSO ${a.counters().udpGso ? 'on' : 'off'} / GRO ${a.counters().udpGro ? 'on' : 'off'}`);
    console.table(tcpRows.slice(-1));
    console.table(await udpSeries(a, b, 1400, `${name} UDP 1400 B`));
    console.table(await udpSeries(a, b, 92, `${name} UDP 92 B`));
  }
  console.log(`\npeak RSS of this process (both data planes, Node itself): ${(peakRss / 1048576).toFixed(1)} MiB`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    clearInterval(rssTimer);
    await cleanup();
  });
