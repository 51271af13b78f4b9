/**
 * `cgwd lab bench --esp-only`: the ESP per-packet path without syscalls (native/src/esp_bench.c,
 * through the testing addon, so on the OpenSSL inside Node that the daemon uses): sa_output and
 * sa_input for each suite, in nanoseconds per packet (the machine's clock: noisy on a shared
 * box) and, when valgrind is installed, in instructions per packet counted by callgrind
 * (repeatable: the same count run after run, whatever else the machine does). Instructions
 * are those of valgrind's CPU model, which has no AVX-512: OpenSSL takes its AVX2 paths there.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CgwdError } from '../errors.js';
import { runCommand } from '../system/exec.js';

export const TESTING_ADDON_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'cgwd_dataplane_testing.node');

/** The suites AWS offers for ESP, with their integrity where the cipher is not an AEAD. */
export const ESP_BENCH_SUITES: ReadonlyArray<readonly [string, string | null]> = [
  ['aes128-gcm16', null],
  ['aes256-gcm16', null],
  ['aes128-cbc', 'hmac-sha1-96'],
  ['aes256-cbc', 'hmac-sha256-128'],
];

export interface EspBenchRow {
  suite: string;
  /** IP bytes of the inner packet. */
  size: number;
  encapNs: number;
  decapNs: number;
  /** Instructions per packet (callgrind), when valgrind is installed. */
  encapInstructions?: number;
  decapInstructions?: number;
}

interface EspBenchAddon {
  espBench(encryption: string, integrity: string | null, ipBytes: number, count: number): { encapNs: number; decapNs: number };
}

function loadAddon(): EspBenchAddon {
  if (!existsSync(TESTING_ADDON_PATH)) throw new CgwdError('ESP_BENCH_MISSING', `${TESTING_ADDON_PATH} is not built (npm run build)`);
  return createRequire(import.meta.url)(TESTING_ADDON_PATH) as EspBenchAddon;
}

/** The `totals:` line of a callgrind output file: instructions executed while collection was on. */
export function callgrindTotal(text: string): number {
  const m = /^(?:totals|summary):\s+(\d+)/m.exec(text);
  if (!m) throw new CgwdError('ESP_BENCH_OUTPUT', 'callgrind wrote no totals line');
  return Number(m[1]);
}

async function instructionsPerPacket(fn: 'sa_output' | 'sa_input', enc: string, integ: string | null, size: number, count: number): Promise<number> {
  const out = path.join(os.tmpdir(), `cgwd-esp-bench-${process.pid}-${fn}.callgrind`);
  const script = `require(${JSON.stringify(TESTING_ADDON_PATH)}).espBench(${JSON.stringify(enc)}, ${JSON.stringify(integ)}, ${size}, ${count})`;
  try {
    const r = await runCommand('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, `--toggle-collect=${fn}`, process.execPath, '-e', script], 600_000);
    if (r.code !== 0) throw new CgwdError('ESP_BENCH_FAILED', `valgrind exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
    return Math.round(callgrindTotal(readFileSync(out, 'utf8')) / count);
  } finally {
    rmSync(out, { force: true });
  }
}

export async function runEspBench(o: { size: number; count: number; callgrindCount: number; log: (l: string) => void }): Promise<EspBenchRow[]> {
  const addon = loadAddon();
  const valgrind = await runCommand('valgrind', ['--version']).then(
    (r) => r.code === 0,
    () => false, // not installed (TOOL_MISSING): times only
  );
  if (!valgrind) o.log('valgrind is not installed: no instruction counts');
  const rows: EspBenchRow[] = [];
  for (const [enc, integ] of ESP_BENCH_SUITES) {
    const t = addon.espBench(enc, integ, o.size, o.count);
    const row: EspBenchRow = { suite: integ ? `${enc}/${integ}` : enc, size: o.size, encapNs: Math.round(t.encapNs), decapNs: Math.round(t.decapNs) };
    if (valgrind) {
      row.encapInstructions = await instructionsPerPacket('sa_output', enc, integ, o.size, o.callgrindCount);
      row.decapInstructions = await instructionsPerPacket('sa_input', enc, integ, o.size, o.callgrindCount);
    }
    o.log(`esp ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

export function renderEspBench(rows: readonly EspBenchRow[]): string {
  const lines = [
    '| ESP suite | inner packet B | encapsulate ns/pkt | decapsulate ns/pkt | encapsulate instructions/pkt | decapsulate instructions/pkt |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) lines.push(`| ${r.suite} | ${r.size} | ${r.encapNs} | ${r.decapNs} | ${r.encapInstructions ?? '–'} | ${r.decapInstructions ?? '–'} |`);
  return lines.join('\n');
}
