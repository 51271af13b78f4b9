/**
 * The lab's native UDP load generator and sink (native/loadgen/loadgen.c, built by node-gyp
 * beside the addon as native/build/Release/cgwd-loadgen). One process: a sender thread in one
 * namespace and a sink thread in another, sequenced datagrams at a fixed rate with sendmmsg /
 * recvmmsg, so the gateways get the CPU that iperf3's per-datagram syscalls took. Bounded in
 * time and count; it stops by itself and prints one JSON result.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CgwdError } from '../errors.js';
import { runCommand } from '../system/exec.js';

export const LOADGEN_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'cgwd-loadgen');

export interface LoadgenOptions {
  /** Destination address:port, as seen from the sender's namespace. */
  dst: string;
  rate: number;
  /** UDP payload bytes (the IP packet is 28 more). */
  size: number;
  seconds: number;
  count?: number;
  senderNetns?: string;
  sinkNetns?: string;
  batch?: number;
  /** Datagrams per UDP_SEGMENT super-datagram (1 or undefined: one datagram per message). */
  gso?: number;
  /** SCHED_FIFO priority of the generator's threads (root), so the gateways cannot starve it. */
  priority?: number;
  graceMs?: number;
}

export interface LoadgenResult {
  size: number;
  rate: number;
  seconds: number;
  sent: number;
  sendErrors: number;
  batches: number;
  received: number;
  unique: number;
  lost: number;
  reordered: number;
  duplicated: number;
  stray: number;
  /** Datagrams the sink's own socket buffer dropped (SO_RXQ_OVFL): the lab's loss, not the path's. */
  sinkOverflow: number;
  latencyMeanUs: number;
  latencyMaxUs: number;
}

const FIELDS = ['size', 'rate', 'seconds', 'sent', 'sendErrors', 'batches', 'received', 'unique', 'lost', 'reordered', 'duplicated', 'stray', 'sinkOverflow', 'latencyMeanUs', 'latencyMaxUs'] as const;

export function parseLoadgenResult(text: string): LoadgenResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CgwdError('LOADGEN_OUTPUT', `cgwd-loadgen printed no JSON: ${text.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CgwdError('LOADGEN_OUTPUT', 'cgwd-loadgen printed no object');
  const o = parsed as Record<string, unknown>;
  const out: Partial<Record<(typeof FIELDS)[number], number>> = {};
  for (const f of FIELDS) {
    const v = o[f];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CgwdError('LOADGEN_OUTPUT', `cgwd-loadgen result lacks ${f}`);
    out[f] = v;
  }
  return out as LoadgenResult;
}

export function loadgenArgs(o: LoadgenOptions): string[] {
  const args = ['--dst', o.dst, '--rate', String(Math.round(o.rate)), '--size', String(o.size), '--duration', String(o.seconds)];
  if (o.count !== undefined) args.push('--count', String(o.count));
  if (o.senderNetns) args.push('--sender-netns', o.senderNetns);
  if (o.sinkNetns) args.push('--sink-netns', o.sinkNetns);
  if (o.batch !== undefined) args.push('--batch', String(o.batch));
  if (o.gso !== undefined && o.gso > 1) args.push('--gso', String(o.gso));
  if (o.priority !== undefined && o.priority > 0) args.push('--priority', String(o.priority));
  if (o.graceMs !== undefined) args.push('--grace', String(o.graceMs));
  return args;
}

export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenResult> {
  if (!existsSync(LOADGEN_PATH)) throw new CgwdError('LOADGEN_MISSING', `${LOADGEN_PATH} is not built (npm run build)`);
  const r = await runCommand(LOADGEN_PATH, loadgenArgs(o), (o.seconds + 30) * 1000);
  if (r.code !== 0) throw new CgwdError('LOADGEN_FAILED', `cgwd-loadgen exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
  return parseLoadgenResult(r.stdout);
}
