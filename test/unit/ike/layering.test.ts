/**
 * The shape of src/ike, checked from its import graph: IKEv1 and IKEv2 are two drivers on one
 * version-neutral floor, so neither version imports the other, the floor imports neither
 * (src/ike/index.ts, the public face, re-exports both), and no runtime import cycle exists
 * (type-only imports are erased and do not count). Also: the ID types the shared identity
 * module uses have the same numbers in both versions' constant tables.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdentityType } from '../../../src/ike/identity.js';
import { IdType as V1IdType } from '../../../src/ike/v1/constants.js';
import { IdType as V2IdType } from '../../../src/ike/v2/wire/constants.js';

const ROOT = path.resolve(import.meta.dirname, '../../../src/ike');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  readonly to: string;
  readonly typeOnly: boolean;
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?([\s\S]*?)\s+from\s+'(\.[^']*)'/gm;

function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => {
    const names = /^\{([\s\S]*)\}$/.exec(m[2] ?? '')?.[1];
    const allTypes = names !== undefined && names.split(',').map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith('type '));
    return { to: path.resolve(path.dirname(file), (m[3] ?? '').replace(/\.js$/, '.ts')), typeOnly: m[1] !== undefined || allTypes };
  });
}

const files = sources(ROOT);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string): string => path.relative(ROOT, f);
const under = (f: string, dir: string): boolean => rel(f).startsWith(`${dir}/`);

describe('src/ike layering', () => {
  it('reads the whole tree', () => {
    expect(files.length).toBeGreaterThan(40);
    expect([...graph.values()].flat().length).toBeGreaterThan(200);
  });

  it('neither version imports the other', () => {
    const crossing = [...graph].flatMap(([from, edges]) =>
      edges.filter((e) => (under(from, 'v1') && under(e.to, 'v2')) || (under(from, 'v2') && under(e.to, 'v1'))).map((e) => `${rel(from)} → ${rel(e.to)}`),
    );
    expect(crossing).toEqual([]);
  });

  it('the version-neutral floor imports neither version', () => {
    const floor = files.filter((f) => !under(f, 'v1') && !under(f, 'v2') && rel(f) !== 'index.ts');
    const upward = floor.flatMap((from) => (graph.get(from) ?? []).filter((e) => under(e.to, 'v1') || under(e.to, 'v2')).map((e) => `${rel(from)} → ${rel(e.to)}`));
    expect(upward).toEqual([]);
  });

  it('has no runtime import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const edge of graph.get(file) ?? []) {
        if (edge.typeOnly || !graph.has(edge.to)) continue;
        if (state.get(edge.to) === 'open') cycles.push([...stack.slice(stack.indexOf(edge.to)), edge.to].map(rel).join(' → '));
        else if (!state.has(edge.to)) visit(edge.to);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('the shared identity types are numbered alike in IKEv1 (RFC 2407 §4.6.2.1) and IKEv2 (RFC 7296 §3.5)', () => {
    for (const [name, value] of Object.entries(IdentityType)) {
      const key = `ID_${name}` as 'ID_IPV4_ADDR' | 'ID_FQDN' | 'ID_IPV6_ADDR';
      expect(V1IdType[key], `IKEv1 ${key}`).toBe(value);
      expect(V2IdType[key], `IKEv2 ${key}`).toBe(value);
    }
  });
});
