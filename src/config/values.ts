/** Typed readers for single values, shared by the XML and JSON readers. Each records a problem and returns undefined on bad input. */
import {
  dhGroupFromAwsJson,
  dhGroupFromAwsXml,
  encryptionFromAwsJson,
  encryptionFromAwsXml,
  integrityFromAwsJson,
  integrityFromAwsXml,
  type DhGroupNumber,
  type EncryptionName,
  type IntegrityName,
} from '../crypto/transforms.js';
import { AWS_RANGES, PSK_CHARSET } from './aws-limits.js';
import { parseIpv4 } from './ipv4.js';
import type { ProblemList, Rule } from './problems.js';
import { Secret } from './secret.js';
import { sourced, type Sourced } from './sourced.js';

function map<T, U>(raw: Sourced<T>, value: U): Sourced<U> {
  return sourced(value, raw.path, raw.origin);
}

/** Non-negative decimal integer written as text (XML) — no sign, no fraction, no exponent. */
export function readIntegerText(raw: Sourced<string>, problems: ProblemList): Sourced<number> | undefined {
  if (!/^[0-9]{1,10}$/.test(raw.value)) {
    problems.add(raw.path, 'integer', `must be a whole number, found ${quote(raw.value)}`);
    return undefined;
  }
  return map(raw, Number(raw.value));
}

export function readBooleanText(raw: Sourced<string>, problems: ProblemList): Sourced<boolean> | undefined {
  if (raw.value === 'true' || raw.value === 'false') return map(raw, raw.value === 'true');
  problems.add(raw.path, 'boolean', `must be "true" or "false", found ${quote(raw.value)}`);
  return undefined;
}

export function readIpv4(raw: Sourced<string>, problems: ProblemList): Sourced<string> | undefined {
  if (parseIpv4(raw.value) === undefined) {
    problems.add(raw.path, 'ipv4-address', `must be an IPv4 address in dotted-quad form, found ${quote(raw.value)}`);
    return undefined;
  }
  return raw;
}

/** One of a fixed set of words, compared case-insensitively and returned in the canonical spelling. */
export function readChoice<T extends string>(
  raw: Sourced<string>,
  allowed: readonly T[],
  rule: Rule,
  problems: ProblemList,
): Sourced<T> | undefined {
  const match = allowed.find((a) => a === raw.value.trim().toLowerCase());
  if (match === undefined) {
    problems.add(raw.path, rule, `must be ${allowed.map((a) => `"${a}"`).join(' or ')}, found ${quote(raw.value)}`);
    return undefined;
  }
  return map(raw, match);
}

/** PSK rules (User Guide, "Tunnel options", pre-shared key): 8–64 of [A-Za-z0-9._], not starting with "0". Messages never quote the key. */
export function readPsk(raw: Sourced<string>, problems: ProblemList): Sourced<Secret> | undefined {
  problems.addSecretCandidate(raw.value);
  const { min, max } = AWS_RANGES.pskLength;
  const before = problems.count;
  if (raw.value.length < min || raw.value.length > max) {
    problems.add(raw.path, 'psk-length', `must be ${min} to ${max} characters long, found ${raw.value.length}`);
  }
  if (!PSK_CHARSET.test(raw.value)) {
    problems.add(raw.path, 'psk-charset', `may contain only letters, digits, "." and "_"`);
  }
  if (raw.value.startsWith('0')) {
    problems.add(raw.path, 'psk-leading-zero', `must not start with "0"`);
  }
  return problems.count === before ? map(raw, new Secret(raw.value)) : undefined;
}

export type Phase = 1 | 2;

export function xmlEncryption(raw: Sourced<string>, problems: ProblemList): Sourced<EncryptionName[]> | undefined {
  const t = encryptionFromAwsXml(raw.value);
  if (!t) return unknownAlgorithm(raw, 'encryption algorithm', problems);
  return map(raw, [t.name]);
}

export function xmlIntegrity(raw: Sourced<string>, problems: ProblemList): Sourced<IntegrityName[]> | undefined {
  const t = integrityFromAwsXml(raw.value);
  if (!t) return unknownAlgorithm(raw, 'integrity algorithm', problems);
  return map(raw, [t.name]);
}

export function xmlDhGroup(raw: Sourced<string>, phase: Phase, problems: ProblemList): Sourced<DhGroupNumber[]> | undefined {
  const g = dhGroupFromAwsXml(raw.value);
  if (!g) return unknownAlgorithm(raw, 'Diffie-Hellman group', problems);
  if (phase === 1 && !g.awsPhase1) return phase1Only(raw.path, g.group, problems);
  return map(raw, [g.group]);
}

export function jsonEncryption(value: string, path: string, problems: ProblemList): EncryptionName | undefined {
  const t = encryptionFromAwsJson(value);
  if (!t) unknownAlgorithm(sourced(value, path, 'tunnel-options'), 'encryption algorithm', problems);
  return t?.name;
}

export function jsonIntegrity(value: string, path: string, problems: ProblemList): IntegrityName | undefined {
  const t = integrityFromAwsJson(value);
  if (!t) unknownAlgorithm(sourced(value, path, 'tunnel-options'), 'integrity algorithm', problems);
  return t?.name;
}

export function jsonDhGroup(value: string | number, phase: Phase, path: string, problems: ProblemList): DhGroupNumber | undefined {
  const g = dhGroupFromAwsJson(value);
  if (!g) {
    unknownAlgorithm(sourced(String(value), path, 'tunnel-options'), 'Diffie-Hellman group', problems);
    return undefined;
  }
  if (phase === 1 && !g.awsPhase1) {
    phase1Only(path, g.group, problems);
    return undefined;
  }
  return g.group;
}

function unknownAlgorithm(raw: Sourced<string>, what: string, problems: ProblemList): undefined {
  problems.add(raw.path, 'algorithm-known', `unknown ${what} ${quote(raw.value)}`);
  return undefined;
}

function phase1Only(path: string, group: number, problems: ProblemList): undefined {
  problems.add(path, 'dh-group-phase1', `Diffie-Hellman group ${group} is allowed by AWS in phase 2 only`);
  return undefined;
}

/** Quotes a value from the input for a message, cut short and with control characters escaped. */
export function quote(value: string): string {
  const short = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(short);
}
