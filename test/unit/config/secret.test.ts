import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { maskSecret, parseConfig, Secret } from '../../../src/config/index.js';
import { readSample } from './helpers.js';

describe('Secret', () => {
  const value = 'QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV';
  const secret = new Secret(value);

  it('prints <redacted> every way it can be turned into text', () => {
    expect(String(secret)).toBe('<redacted>');
    expect(`${secret}`).toBe('<redacted>');
    expect(secret.toString()).toBe('<redacted>');
    expect(JSON.stringify({ psk: secret })).toBe('{"psk":"<redacted>"}');
    expect(inspect(secret)).toBe('<redacted>');
    expect(inspect({ nested: { secret } }, { depth: 10, showHidden: true })).not.toContain(value);
    expect(Object.keys(secret)).toEqual([]);
  });

  it('reveals on request, compares, and masks with its length', () => {
    expect(secret.reveal()).toBe(value);
    expect(secret.equals(new Secret(value))).toBe(true);
    expect(secret.equals(new Secret('other'))).toBe(false);
    expect(maskSecret(secret)).toEqual({ masked: '********', length: 32 });
  });

  it('keeps a whole parsed configuration printable', () => {
    const config = parseConfig(readSample('sample-batfish-bgp-vgw.xml'));
    const printed = [JSON.stringify(config), inspect(config, { depth: 20 }), String(config.tunnels[0].psk)].join('\n');
    expect(printed).not.toContain(value);
    expect(printed).not.toContain('tYrysT4iT0.CRwQnhiBbng.BahDc7YPq');
  });
});
