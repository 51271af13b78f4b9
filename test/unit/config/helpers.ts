import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ConfigError, SettingsError, type Problem } from '../../../src/config/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures', 'config');
export const fixtureSamplesDir = path.join(fixturesDir, 'aws-samples');
/** CI places shared/ beside the clone; locally it is /work/shared. */
export const sharedSamplesDir = path.resolve(repoRoot, '..', 'shared', 'aws-samples');
export const sharedSamplesPresent = existsSync(sharedSamplesDir);

export const SAMPLE_NAMES = [
  'sample-batfish-bgp-tgw.xml',
  'sample-batfish-bgp-vgw.xml',
  'sample-batfish-static-vgw.xml',
  'sample-cloudwanderer-bgp-vgw.xml',
] as const;

export function fixturePath(name: string): string {
  return path.join(fixturesDir, name);
}

export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

export function readSample(name: (typeof SAMPLE_NAMES)[number]): string {
  return readFileSync(path.join(fixtureSamplesDir, name), 'utf8');
}

/** Replaces the `occurrence`-th (1-based) occurrence of `from`; fails loudly when it is not there. */
export function replaceNth(text: string, from: string, to: string, occurrence = 1): string {
  let index = -1;
  for (let i = 0; i < occurrence; i++) {
    index = text.indexOf(from, index + 1);
    if (index < 0) throw new Error(`fixture edit: occurrence ${occurrence} of ${JSON.stringify(from)} not found`);
  }
  return text.slice(0, index) + to + text.slice(index + from.length);
}

export function problemsOf(action: () => unknown): readonly Problem[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError or SettingsError, but the input was accepted');
}

export function expectProblem(action: () => unknown, expected: { path: string; rule: string }): Problem {
  const problems = problemsOf(action);
  const found = problems.find((p) => p.path === expected.path && p.rule === expected.rule);
  expect(found, `expected ${expected.path} [${expected.rule}] among:\n${problems.map((p) => `${p.message} [${p.rule}]`).join('\n')}`).toBeDefined();
  return found as Problem;
}
