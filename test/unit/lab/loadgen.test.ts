import { describe, expect, it } from 'vitest';
import { loadgenArgs, parseLoadgenResult } from '../../../src/lab/loadgen.js';
import { renderLadder } from '../../../src/lab/udp-ladder.js';

const line =
  '{"size":1350,"rate":100000,"seconds":2.000,"sent":197590,"sendErrors":0,"batches":22961,"received":197590,"unique":197590,' +
  '"lost":0,"reordered":0,"duplicated":0,"stray":0,"sinkOverflow":0,"latencyMeanUs":54.2,"latencyMaxUs":2762.4}\n';

describe('cgwd-loadgen result', () => {
  it('parses the JSON line the generator prints', () => {
    expect(parseLoadgenResult(line)).toMatchObject({ size: 1350, sent: 197590, unique: 197590, lost: 0, latencyMaxUs: 2762.4 });
  });

  it('refuses output without a counter, or that is not JSON, with a stable code', () => {
    expect(() => parseLoadgenResult(line.replace('"lost":0,', ''))).toThrow(expect.objectContaining({ code: 'LOADGEN_OUTPUT', message: expect.stringContaining('lost') }));
    expect(() => parseLoadgenResult('Segmentation fault')).toThrow(expect.objectContaining({ code: 'LOADGEN_OUTPUT' }));
    expect(() => parseLoadgenResult('{"size":"1350"}')).toThrow(expect.objectContaining({ code: 'LOADGEN_OUTPUT' }));
  });

  it('passes only the options given, rates rounded', () => {
    expect(loadgenArgs({ dst: '198.19.0.10:5301', rate: 1e5 + 0.4, size: 1400, seconds: 5, senderNetns: 'cgwd-onprem' })).toEqual([
      '--dst', '198.19.0.10:5301', '--rate', '100000', '--size', '1400', '--duration', '5', '--sender-netns', 'cgwd-onprem',
    ]);
  });

  it('passes super-datagrams and the real-time priority only when asked for', () => {
    const args = loadgenArgs({ dst: '198.19.0.10:5301', rate: 1000, size: 1350, seconds: 1, batch: 64, gso: 8, priority: 10 });
    expect(args.slice(8)).toEqual(['--batch', '64', '--gso', '8', '--priority', '10']);
    expect(loadgenArgs({ dst: '198.19.0.10:5301', rate: 1000, size: 1350, seconds: 1, gso: 1, priority: 0 })).not.toContain('--gso');
    expect(loadgenArgs({ dst: '198.19.0.10:5301', rate: 1000, size: 1350, seconds: 1, gso: 1, priority: 0 })).not.toContain('--priority');
  });
});

describe('UDP ladder table', () => {
  it('prints one row per size and direction with the three runs and the CPU per gateway', () => {
    const [row] = renderLadder('(a) cgwd ↔ cgwd', [
      { size: 1350, direction: 'site→VPC', losslessPps: 70_000, losslessRuns: [68961, 68361, 69253], failedPps: 100_000, failedLossPercent: 1.42, floodReceivedPps: 122468, floodLossPercent: 47.64, cpu: { 'cgwd (customer)': { processUs: 3.8, threadUs: 3.71 }, 'charon (aws)': { processUs: 9.39 } } },
    ]);
    expect(row).toBe('| (a) cgwd ↔ cgwd | 1350 | site→VPC | 70000 (68961, 68361, 69253) | 100000 (1.42 %) | 122468 (47.64 %) | cgwd (customer) 3.8 (thread 3.71); charon (aws) 9.39 |');
  });
});
