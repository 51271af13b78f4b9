/**
 * Coverage-guided fuzzing of the C data plane in CI (issue 13): builds the libFuzzer targets of
 * native/fuzz with ASan + UBSan and runs each for a bounded time (CGWD_FUZZ_SECONDS, default
 * 25 s; about 1.5 min in all with the build) from the corpus kept in native/fuzz/corpus. Any
 * finding — a sanitizer report, a broken invariant, a crash, a timeout — fails the test and
 * leaves the reproducer in the run's artifact directory. New corpus entries go to a temporary
 * directory; the repository's corpus is only read. Prints executions and coverage per target.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FUZZ_DIR = path.resolve(import.meta.dirname, '../../native/fuzz');
const TARGETS = ['fuzz_esp_inbound', 'fuzz_outbound', 'fuzz_ipv4'] as const;
const SECONDS = Number(process.env.CGWD_FUZZ_SECONDS ?? 25);

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'cgwd-fuzz-'));
  const build = spawnSync(path.join(FUZZ_DIR, 'build.sh'), [path.join(work, 'bin')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`native/fuzz/build.sh failed:\n${build.stdout}\n${build.stderr}`);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('libFuzzer targets (ASan + UBSan)', () => {
  it.each(TARGETS)('%s: no finding in a bounded run', (target) => {
    const corpus = path.join(FUZZ_DIR, 'corpus', target);
    const fresh = mkdtempSync(path.join(work, `${target}-`));
    const artifacts = path.join(work, `${target}-artifacts`) + path.sep;
    mkdirSync(artifacts, { recursive: true });
    const run = spawnSync(
      path.join(work, 'bin', target),
      [`-max_total_time=${SECONDS}`, '-max_len=70000', '-timeout=10', '-rss_limit_mb=2048', '-print_final_stats=1', `-artifact_prefix=${artifacts}`, fresh, corpus],
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: (SECONDS + 60) * 1000 },
    );
    const output = `${run.stdout}${run.stderr}`;
    const executions = /stat::number_of_executed_units:\s*(\d+)/.exec(output)?.[1];
    const coverage = [...output.matchAll(/cov: (\d+) ft: (\d+)/g)].at(-1);
    console.log(`${target}: ${executions ?? '?'} executions in ${SECONDS} s, coverage ${coverage?.[1] ?? '?'} edges / ${coverage?.[2] ?? '?'} features, corpus ${readdirSync(corpus).length} + ${readdirSync(fresh).length} new`);
    const finding = /==\d+==ERROR|ERROR: libFuzzer|runtime error:|invariant failed|deadly signal/.exec(output);
    expect(finding?.[0], output.slice(-4000)).toBeUndefined();
    expect(run.status, output.slice(-4000)).toBe(0);
    expect(Number(executions)).toBeGreaterThan(0);
  });
});
