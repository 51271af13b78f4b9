/**
 * Smoke run of the lab's native load generator (native/loadgen): sender and sink in two
 * namespaces of its own (cgwd-lg-*) over a veth pair. Short and bounded; a benchmark is not
 * a test, so it checks counting and stopping, not speed. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/system/exec.js';
import { LOADGEN_PATH, runLoadgen, type LoadgenResult } from '../../src/lab/loadgen.js';

const root = process.getuid?.() === 0;
const A = 'cgwd-lg-a';
const B = 'cgwd-lg-b';

async function ip(...args: string[]): Promise<void> {
  const r = await runCommand('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

async function destroy(): Promise<void> {
  for (const ns of [A, B]) await runCommand('ip', ['netns', 'del', ns]);
}

/**
 * Every datagram sent arrived once, and no more were sent than the rate allows: it is an upper bound
 * (a token bucket, one batch banked), never a burst above it. How close to it a 1 s run gets depends
 * on how busy the machine is: that is the bench's business, not a test's.
 */
function expectAllCounted(r: LoadgenResult, most: number): void {
  expect(r.sent).toBeGreaterThan(1_000);
  expect(r.sent).toBeLessThanOrEqual(most);
  expect(r.unique).toBe(r.sent);
  expect(r.lost).toBe(0);
  expect(r.duplicated).toBe(0);
}

describe.skipIf(!root)('cgwd-loadgen over veth (root)', () => {
  beforeAll(async () => {
    await destroy();
    await ip('netns', 'add', A);
    await ip('netns', 'add', B);
    await ip('-n', A, 'link', 'add', 'lga', 'type', 'veth', 'peer', 'name', 'lgb', 'netns', B);
    await ip('-n', A, 'addr', 'add', '198.18.251.1/30', 'dev', 'lga');
    await ip('-n', B, 'addr', 'add', '198.18.251.2/30', 'dev', 'lgb');
    await ip('-n', A, 'link', 'set', 'lga', 'up');
    await ip('-n', B, 'link', 'set', 'lgb', 'up');
  });

  afterAll(destroy);

  it('counts every sequenced datagram across at a fixed rate, none lost, duplicated or reordered', async () => {
    const r = await runLoadgen({ dst: '198.18.251.2:9000', rate: 20_000, size: 1350, seconds: 1, senderNetns: A, sinkNetns: B });
    expect(r.size).toBe(1350);
    expectAllCounted(r, 20_000 + 32);
    expect(r.stray).toBe(0);
    expect(r.batches).toBeLessThan(r.sent);
  });

  it('stops at --count before the duration, and counts what a sink that is not there lost', async () => {
    const r = await runLoadgen({ dst: '198.18.251.2:9001', rate: 50_000, size: 200, seconds: 20, count: 5_000, senderNetns: A, sinkNetns: B });
    expect(r.sent).toBe(5_000);
    expect(r.unique).toBe(5_000);
    expect(r.seconds).toBeLessThan(2);
    // Sender in B toward A, where no sink listens (the sink sits in B): every datagram is lost, and says so.
    const lost = await runLoadgen({ dst: '198.18.251.1:9002', rate: 5_000, size: 100, seconds: 0.5, senderNetns: B, sinkNetns: B, graceMs: 100 });
    expect(lost.sent).toBeGreaterThan(1_000);
    expect(lost.unique).toBe(0);
    expect(lost.lost).toBe(lost.sent);
  });

  it('sends UDP_SEGMENT super-datagrams at real-time priority, and the sink counts every datagram in them', async () => {
    const r = await runLoadgen({ dst: '198.18.251.2:9003', rate: 40_000, size: 1350, seconds: 1, batch: 64, gso: 8, priority: 10, senderNetns: A, sinkNetns: B });
    expectAllCounted(r, 40_000 + 64);
    expect(r.reordered).toBe(0);
    // Fewer sendmmsg calls than super-datagrams would need if each carried one datagram.
    expect(r.batches).toBeLessThan(r.sent / 8);
  });

  it('refuses out-of-range options with exit 2 and no traffic', async () => {
    const r = await runCommand(LOADGEN_PATH, ['--dst', '198.18.251.2:9000', '--rate', '0', '--size', '1350', '--duration', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rate');
    const bad = await runCommand(LOADGEN_PATH, ['--dst', '198.18.251.2:9000', '--rate', '10', '--size', '1350', '--duration', '1', '--sink-netns', '../x']);
    expect(bad.code).toBe(2);
    const tooBig = await runCommand(LOADGEN_PATH, ['--dst', '198.18.251.2:9000', '--rate', '10', '--size', '8000', '--duration', '1', '--gso', '9']);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('--gso');
  });
});
