/**
 * Keys that don't linger (issue 13, finding 5): SK_* are zeroed when their IKE SA dies, the
 * CHILD SA keeps no reference to its keys once the data plane has them, and the key log is a
 * file cgwd creates itself (never an existing one, never through a link), mode 0600.
 */
import { fstatSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeylogFileError, openKeylogFile } from '../../../../src/ike/connection/keylog.js';
import { KeysReleasedError } from '../../../../src/ike/errors.js';
import { Pair } from '../harness/pair.js';

function allZero(keys: Readonly<Record<string, Buffer>>): boolean {
  return Object.values(keys).every((b) => b.every((x) => x === 0));
}

describe('IKE SA key material', () => {
  // IKEv2: SK_*; IKEv1: SKEYID, SKEYID_d, SKEYID_a and Ka.
  it.each(['ikev2', 'ikev1'] as const)('%s: the keys of an IKE SA are zeroed when it dies (a rekey replaces it)', (version) => {
    const pair = new Pair(version).establish();
    const sas = (pair.cgw.connection as unknown as { life: { sas: Set<{ keys?: Record<string, Buffer>; state: string }> } }).life.sas;
    const first = [...sas][0];
    const keys = first?.keys;
    expect(keys && !allZero(keys)).toBe(true);
    pair.cgw.connection.rekeyIke();
    pair.run(60_000);
    expect(first?.state).toBe('dead');
    expect(keys && allZero(keys)).toBe(true);
    // The key log's copy is its own: the established pair still matches.
    const live = [...sas].find((s) => s.state === 'established');
    expect(live?.keys && !allZero(live.keys)).toBe(true);
    // The CHILD SAs outlived it with keys of their own.
    expect(pair.cgw.sink.list.length).toBeGreaterThan(0);
    expect(pair.cgw.sink.list.every((s) => s.encKeyIn.some((x) => x !== 0))).toBe(true);
  });
});

describe('CHILD SA key material', () => {
  it('a CHILD SA keeps no reference to its keys once the data plane has them', () => {
    const pair = new Pair('ikev2').establish();
    const sas = (pair.cgw.connection as unknown as { life: { sas: Set<{ children: { directionalKeys: unknown }[] }> } }).life.sas;
    const child = [...sas][0]?.children[0];
    expect(child).toBeDefined();
    expect(() => child?.directionalKeys).toThrow(KeysReleasedError);
    // The sink got them.
    expect(pair.cgw.sink.only().encKeyIn.some((b) => b !== 0)).toBe(true);
  });
});

describe('--keylog file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created with mode 0600 whatever the umask', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cgwd-keylog-'));
    const file = path.join(dir, 'keys.jsonl');
    const old = process.umask(0);
    try {
      const fd = openKeylogFile(file);
      expect(fstatSync(fd).mode & 0o777).toBe(0o600);
      closeSync(fd);
    } finally {
      process.umask(old);
    }
  });

  it('refuses an existing file (it keeps its owner and permissions)', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cgwd-keylog-'));
    const file = path.join(dir, 'keys.jsonl');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    expect(() => openKeylogFile(file)).toThrow(KeylogFileError);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
  });

  it('refuses a symbolic link, even to a file that does not exist yet', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cgwd-keylog-'));
    const target = path.join(dir, 'elsewhere');
    const link = path.join(dir, 'keys.jsonl');
    symlinkSync(target, link);
    expect(() => openKeylogFile(link)).toThrow(expect.objectContaining({ code: 'KEYLOG_FILE_REFUSED' }) as Error);
    expect(() => lstatSync(target)).toThrow();
  });
});
