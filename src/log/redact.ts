/**
 * Two independent guards keep secrets out of log lines:
 *  1. pino `redact` paths for fields whose names say "secret" (psk, key,
 *     nonce, …) at the top level and up to three levels down;
 *  2. a deep walk of every log object, child-logger bindings and message
 *     interpolation argument that replaces any Secret instance, and any value
 *     under a secret-looking key, wherever it sits.
 * Secret.toJSON() printing "<redacted>" is the third, last line.
 */
import { REDACTED, Secret } from '../config/secret.js';

const SECRET_FIELD_NAMES = [
  'psk', 'preSharedKey', 'PreSharedKey', 'pre_shared_key', 'secret', 'password', 'passphrase',
  'key', 'keys', 'privateKey', 'sharedSecret', 'nonce', 'nonces', 'skeyseed', 'SKEYSEED',
  'sk_d', 'sk_ai', 'sk_ar', 'sk_ei', 'sk_er', 'sk_pi', 'sk_pr', 'encryptionKey', 'integrityKey',
] as const;

export const REDACT_PATHS: readonly string[] = SECRET_FIELD_NAMES.flatMap((name) => [
  name,
  `*.${name}`,
  `*.*.${name}`,
  `*.*.*.${name}`,
]);

const SECRET_KEY_PATTERN = /(psk|secret|password|passphrase|nonces?|skeyseed|keys?)$|^sk_|pre_?shared/i;

export function isSecretFieldName(name: string): boolean {
  return SECRET_KEY_PATTERN.test(name);
}

const MAX_DEPTH = 12;

/** A copy of `value` with every Secret and every secret-named field replaced by "<redacted>". */
export function redactSecrets(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value instanceof Secret) return REDACTED;
  if (typeof value !== 'object' || value === null) return value;
  // Raw bytes are never logged (they may be key material), and pino's path redaction cannot walk them.
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[…]';
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((item) => redactSecrets(item, depth + 1, seen));
  }
  if (!isPlainObject(value)) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretFieldName(key) && inner !== undefined && inner !== null ? REDACTED : redactSecrets(inner, depth + 1, seen);
  }
  return out;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
