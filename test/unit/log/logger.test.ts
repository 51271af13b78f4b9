import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/index.js';
import { createLogger, isSecretFieldName, redactSecrets } from '../../../src/log/index.js';

function capture(): { write: (line: string) => void; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  return {
    write: (line) => void chunks.push(line),
    lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}

const PSK = 'QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV';

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, name and message', () => {
    const out = capture();
    createLogger({ output: out, base: { component: 'test' } }).info({ tunnel: 1 }, 'tunnel up');
    const [line] = out.lines();
    expect(line).toMatchObject({ level: 30, name: 'cgwd', component: 'test', tunnel: 1, msg: 'tunnel up' });
    expect(typeof line?.time).toBe('string');
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ output: out, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
    const silent = capture();
    createLogger({ output: silent, level: 'silent' }).fatal('nothing');
    expect(silent.text()).toBe('');
  });

  it('redacts secret-named fields at any depth (redact paths and the deep walk)', () => {
    const out = capture();
    createLogger({ output: out, level: 'trace' }).info({
      psk: PSK,
      tunnel: { preSharedKey: PSK, ike: { sa: { keys: { sk_d: PSK }, nonce: PSK } } },
      deep: { a: { b: { c: { d: { e: { secret: PSK, encryptionKey: PSK } } } } } },
      list: [{ pre_shared_key: PSK }],
      fine: 'visible',
    });
    const text = out.text();
    expect(text).not.toContain(PSK);
    expect(text).toContain('<redacted>');
    expect(out.lines()[0]?.fine).toBe('visible');
  });

  it('prints a Secret instance anywhere as <redacted>, whatever its field is called', () => {
    const out = capture();
    const log = createLogger({ output: out, level: 'trace' });
    const secret = new Secret(PSK);
    log.info({ value: secret, nested: [{ x: { y: [secret] } }] }, 'objects');
    // pino's redact paths reach four levels; the deeper key is left to cgwd's own walk.
    log.info('interpolated %s and %o and %j', secret, { harmless: secret }, { v: { w: { x: { y: { z: { psk: PSK } } } } } });
    log.child({ credential: secret, psk: PSK }).warn('child bindings');
    const text = out.text();
    expect(text).not.toContain(PSK);
    expect(out.lines()).toHaveLength(3);
  });

  it('logs errors with their messages', () => {
    const out = capture();
    createLogger({ output: out }).error({ err: new Error('boom') }, 'failed');
    expect(out.lines()[0]).toMatchObject({ msg: 'failed', err: { message: 'boom', type: 'Error' } });
  });
});

describe('redactSecrets', () => {
  it('copies without changing the input, survives cycles', () => {
    const input: Record<string, unknown> = { psk: PSK, ok: 1 };
    input.self = input;
    const out = redactSecrets(input) as Record<string, unknown>;
    expect(out.psk).toBe('<redacted>');
    expect(out.ok).toBe(1);
    expect(input.psk).toBe(PSK);
  });

  it('recognises secret-looking names and leaves others', () => {
    for (const name of ['psk', 'preSharedKey', 'PreSharedKey', 'pre_shared_key', 'secret', 'nonce', 'peerNonce', 'sk_ai', 'key', 'keys', 'skeyseed']) {
      expect(isSecretFieldName(name), name).toBe(true);
    }
    for (const name of ['ikeVersion', 'keyBits', 'tunnel', 'asn', 'insideCidr']) expect(isSecretFieldName(name), name).toBe(false);
  });
});

describe('binary data in log objects', () => {
  it('prints a byte count, never the bytes, and does not trip the path redaction', async () => {
    const { createLogger } = await import('../../../src/log/index.js');
    const lines: string[] = [];
    const log = createLogger({ level: 'info', output: { write: (line: string) => void lines.push(line) } });
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(() => log.info({ tunnel: 1, reason: { kind: 'notification-received', data: key, nested: { more: { bytes: key } } } }, 'BGP session down')).not.toThrow();
    expect(lines.join('')).toContain('"data":"[16 bytes]"');
    expect(lines.join('')).not.toContain('00112233');
  });
});
