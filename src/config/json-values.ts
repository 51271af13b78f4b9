/** Small helpers for walking untrusted JSON with paths in jq style (VpnConnections[0].Options). */
import type { ProblemList } from './problems.js';

export type JsonObject = { readonly [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

/** The first of `names` present in `object` (AWS spells some keys two ways across APIs), with its path. */
export function member(object: JsonObject, base: string, names: readonly string[]): { value: unknown; path: string } | undefined {
  for (const name of names) {
    if (Object.hasOwn(object, name) && object[name] !== null && object[name] !== undefined) {
      return { value: object[name], path: joinPath(base, name) };
    }
  }
  return undefined;
}

export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function expectString(value: unknown, path: string, problems: ProblemList): string | undefined {
  if (typeof value === 'string') return value;
  problems.add(path, 'json-shape', `must be a string, found ${jsonTypeName(value)}`);
  return undefined;
}

export function expectInteger(value: unknown, path: string, problems: ProblemList): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  problems.add(path, 'integer', `must be a whole number, found ${jsonTypeName(value)}${typeof value === 'number' ? ` ${value}` : ''}`);
  return undefined;
}

export function expectBoolean(value: unknown, path: string, problems: ProblemList): boolean | undefined {
  if (typeof value === 'boolean') return value;
  problems.add(path, 'boolean', `must be true or false, found ${jsonTypeName(value)}`);
  return undefined;
}

export function expectArray(value: unknown, path: string, problems: ProblemList): readonly unknown[] | undefined {
  if (Array.isArray(value)) return value;
  problems.add(path, 'json-shape', `must be an array, found ${jsonTypeName(value)}`);
  return undefined;
}
