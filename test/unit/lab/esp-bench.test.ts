import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { callgrindTotal, ESP_BENCH_SUITES, renderEspBench, TESTING_ADDON_PATH } from '../../../src/lab/esp-bench.js';

interface Bench {
  espBench(encryption: string, integrity: string | null, ipBytes: number, count: number): { encapNs: number; decapNs: number };
}
const addon = createRequire(import.meta.url)(TESTING_ADDON_PATH) as Bench;

describe('ESP bench loop (testing addon)', () => {
  it.each(ESP_BENCH_SUITES)('runs %s packets out through sa_output and back through sa_input', (enc, integ) => {
    const r = addon.espBench(enc, integ, 1378, 300);
    expect(r.encapNs).toBeGreaterThan(0);
    expect(r.decapNs).toBeGreaterThan(0);
  });

  it('refuses what it cannot carry with a typed error', () => {
    expect(() => addon.espBench('aes128-gcm16', null, 10, 10)).toThrow(/size/);
    expect(() => addon.espBench('des-cbc', null, 1378, 10)).toThrow(/unsupported/);
  });

  it('reads the callgrind total and refuses output without one', () => {
    expect(callgrindTotal('events: Ir\nsummary: 123456\ntotals: 123456\n')).toBe(123456);
    expect(() => callgrindTotal('events: Ir\n')).toThrow(/totals/);
  });

  it('renders a row per suite, with a dash where no instruction count was taken', () => {
    const table = renderEspBench([{ suite: 'aes128-gcm16', size: 1378, encapNs: 560, decapNs: 520 }]);
    expect(table.split('\n')[2]).toBe('| aes128-gcm16 | 1378 | 560 | 520 | – | – |');
  });
});
