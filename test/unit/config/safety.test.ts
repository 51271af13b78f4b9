import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/index.js';
import { problemsOf, readFixture, readSample } from './helpers.js';

describe('hostile input', () => {
  it('a billion-laughs document fails fast, with modest memory, before any entity is expanded', () => {
    const text = readFixture('billion-laughs.xml');
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const problems = problemsOf(() => parseConfig(text));
    const elapsedMs = performance.now() - started;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(problems.map((p) => p.rule)).toEqual(['xml-no-doctype']);
    expect(elapsedMs).toBeLessThan(1000);
    expect(heapGrowth).toBeLessThan(32 * 1024 * 1024);
  });

  it('a billion-laughs document inside describe-vpn-connections JSON fails the same way', () => {
    const text = JSON.stringify({ VpnConnections: [{ VpnConnectionId: 'vpn-11111111', CustomerGatewayConfiguration: readFixture('billion-laughs.xml') }] });
    const started = performance.now();
    expect(problemsOf(() => parseConfig(text))).toMatchObject([{ path: 'VpnConnections[0].CustomerGatewayConfiguration', rule: 'xml-no-doctype' }]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('entity references are left as text, never expanded', () => {
    const xml = readSample('sample-batfish-bgp-vgw.xml').replace('cgw-fb76ace5', 'cgw-&lt;x&gt;');
    const problem = problemsOf(() => parseConfig(xml))[0];
    expect(problem?.message).toContain('cgw-&lt;x&gt;');
  });

  it('deeply nested elements end in a problem, not a crash', () => {
    const deep = `<vpn_connection id="vpn-12345678">${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}</vpn_connection>`;
    expect(() => parseConfig(deep)).toThrow(ConfigError);
  });

  it('an oversized input is refused without being parsed', () => {
    const started = performance.now();
    const problems = problemsOf(() => parseConfig(`{"VpnConnections": [${'0,'.repeat(600_000)}0]}`));
    expect(problems.map((p) => p.rule)).toEqual(['input-size']);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('problem messages never contain a pre-shared key', () => {
  const psk = 'QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV';
  const xml = readSample('sample-batfish-bgp-vgw.xml');
  const variants: [string, string, string][] = [
    ['leading zero', psk, `0${psk.slice(1)}`],
    ['bad character', psk, `${psk.slice(0, 10)}$${psk.slice(11)}`],
    ['too long', psk, psk.repeat(3)],
    ['malformed document around the key', `${psk}</pre_shared_key>`, `${psk}</pre_shared_keyx>`],
  ];
  it.each(variants)('%s', (_name, from, to) => {
    const bad = xml.replace(from, to);
    const secret = to.replace('</pre_shared_keyx>', '');
    const problems = problemsOf(() => parseConfig(bad));
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p.message).not.toContain(secret);
    try {
      parseConfig(bad);
    } catch (error) {
      expect(String(error)).not.toContain(secret);
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('not in a JSON PreSharedKey mismatch or a malformed JSON document', () => {
    const jsonPsk = 'OtherKey.For_Tunnel1x';
    const json = readFixture('describe-vpn-connections-reversed.json').replace('QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV"', `${jsonPsk}"`);
    for (const text of [json, json.replace(`"${jsonPsk}"`, `"${jsonPsk}`)]) {
      for (const p of problemsOf(() => parseConfig(text))) {
        expect(p.message).not.toContain(jsonPsk);
        expect(p.message).not.toContain(psk);
      }
    }
  });
});
