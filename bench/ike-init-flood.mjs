#!/usr/bin/env node
// Benchmark (issue 13, finding 1): what one spoofed IKE_SA_INIT (MODP group 2, KE value 0) costs
// the IKEv2 responder, in CPU time on the one Node thread, and what the responder answers.
// Prints figures; asserts nothing. Usage: node bench/ike-init-flood.mjs [DIST_DIR] [REQUESTS] [RATE_PER_S]
// (DIST_DIR defaults to ./dist; point it at another build to compare before/after).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const requests = Number(process.argv[3] ?? 1000);
const ratePerSecond = Number(process.argv[4] ?? 1000);
const load = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const { parseConfig } = await load('config/index.js');
const { IkeV2Connection, proposalPolicyFor } = await load('ike/index.js');
const { cryptoRandom } = await load('ike/system-runtime.js');
const { createLogger } = await load('log/index.js');
const { encodeMessage, decodeMessage } = await load('ike/v2/wire/message.js');
const { buildIkeProposals } = await load('ike/v2/proposals/proposals.js');

const config = parseConfig(readFileSync(resolve('configs/lab/vpn-config.xml'), 'utf8'));
const tunnel = config.tunnels[0];
let now = 0;
const timers = [];
const clock = { now: () => now, setTimer: (ms, cb) => { const t = { at: now + ms, cb, dead: false }; timers.push(t); return { cancel: () => { t.dead = true; } }; } };
const answers = new Map();
const transport = {
  send: (_l, _r, data) => { const n = decodeMessage(data).payloads.find((p) => p.kind === 'N'); const k = n ? n.notifyType : 'other'; answers.set(k, (answers.get(k) ?? 0) + 1); },
  sendNatKeepalive() {}, onDatagram() {}, close: async () => {},
};
const logLines = [];
const logger = createLogger({ level: 'info', output: { write: (l) => void logLines.push(l) } });
const sink = { installChildSa() {}, removeChildSa() {}, childSaRekeyed() {} };
const aws = { address: tunnel.aws.outsideAddress ?? tunnel.awsOutsideAddress ?? '203.0.113.1', port: 500 };
const conn = new IkeV2Connection({ tunnel, role: 'responder', local: { address: '198.51.100.2', port: 500 }, remote: aws, localId: '198.51.100.2', transport, clock, random: cryptoRandom, sink, logger, listen: false });
conn.start();
const policy = proposalPolicyFor(tunnel);
const sa = { kind: 'SA', proposals: buildIkeProposals(policy.ike, Buffer.alloc(0)) };
const start = process.cpuUsage();
const wall = performance.now();
for (let i = 0; i < requests; i++) {
  const spiI = Buffer.alloc(8); spiI.writeUInt32BE(i + 1, 4);
  const data = encodeMessage({ header: { spiI, spiR: Buffer.alloc(8), exchangeType: 34, flags: { initiator: true, response: false, version: false }, messageId: 0 },
    payloads: [sa, { kind: 'KE', group: 2, data: Buffer.alloc(128) }, { kind: 'Nonce', nonce: Buffer.alloc(32, i & 0xff) }] });
  conn.handleDatagram({ local: { address: '198.51.100.2', port: i % 2 ? 4500 : 500 }, remote: { address: aws.address, port: i % 2 ? 4500 : 500 }, data });
  now += 1000 / ratePerSecond;
  for (const t of timers.splice(0)) { if (!t.dead && t.at <= now) t.cb(); else if (!t.dead) timers.push(t); }
}
const cpu = process.cpuUsage(start);
const cpuMs = (cpu.user + cpu.system) / 1000;
const floodSeconds = requests / ratePerSecond;
console.log(`dist: ${dist}`);
console.log(`requests: ${requests} at ${ratePerSecond}/s (simulated clock), wall ${(performance.now() - wall).toFixed(0)} ms`);
console.log(`CPU per request: ${(cpuMs / requests).toFixed(3)} ms; CPU share of one core at ${ratePerSecond}/s: ${Math.min(100, (cpuMs / (floodSeconds * 1000)) * 100).toFixed(1)} %`);
console.log(`answers by notify type: ${JSON.stringify(Object.fromEntries(answers))} (16390 COOKIE, 14 NO_PROPOSAL_CHOSEN, 17 INVALID_KE_PAYLOAD)`);
console.log(`log lines: ${logLines.length}`);
process.exit(0);
