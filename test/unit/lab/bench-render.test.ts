import { describe, expect, it } from 'vitest';
import { renderBench, type BenchRow } from '../../../src/lab/bench.js';

const tcpOnly: BenchRow = {
  pair: '(a) cgwd ↔ cgwd',
  tcpMbps: [3100, 2900, 3000],
  tcpCores: { 'cgwd (customer)': { process: 0.82, thread: 0.78 }, 'cgwd (aws)': { process: 0.61 } },
  udp: [],
  peakRssMb: { 'cgwd (customer)': 72.3 },
};

describe('bench table', () => {
  it('shows the TCP median, the runs and the cores each gateway used, and no UDP table when no ladder ran', () => {
    const text = renderBench([tcpOnly]);
    expect(text).toContain('| (a) cgwd ↔ cgwd | 3000 (3100, 2900, 3000) | cgwd (customer) 0.82 (0.78); cgwd (aws) 0.61 | cgwd (customer) 72.3 |');
    expect(text).not.toContain('UDP payload');
  });

  it('keeps the UDP table when a ladder ran', () => {
    const row: BenchRow = {
      ...tcpOnly,
      tcpMbps: [],
      tcpCores: {},
      udp: [{ size: 1350, direction: 'site→VPC', losslessPps: 70_000, losslessRuns: [69_000, 69_500, 69_900], floodReceivedPps: 180_000, floodLossPercent: 12.5, cpu: {} }],
    };
    const text = renderBench([row]);
    expect(text).toContain('| (a) cgwd ↔ cgwd | – | – |');
    expect(text).toContain('| (a) cgwd ↔ cgwd | 1350 | site→VPC | 70000 (69000, 69500, 69900) |');
  });
});
