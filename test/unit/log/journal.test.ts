import { mkdtempSync, openSync, closeSync, fstatSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/index.js';
import { encodeJournalEntry, fdIsJournalStream, JournalFieldError, JournalOutput, journalFieldsFor, syslogPriority } from '../../../src/log/journal.js';
import { unixDatagramSender } from '../../../src/service/notify.js';
import { UnixDatagramListener } from '../../helpers/unix-dgram-listener.js';

/** A reader of the native protocol written from its description, independent of the encoder. */
function decodeJournalEntry(data: Buffer): [string, string][] {
  const fields: [string, string][] = [];
  let at = 0;
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at);
    const eq = data.indexOf(0x3d, at);
    if (eq >= 0 && eq < nl) {
      fields.push([data.subarray(at, eq).toString(), data.subarray(eq + 1, nl).toString()]);
      at = nl + 1;
    } else {
      const name = data.subarray(at, nl).toString();
      const len = Number(data.readBigUInt64LE(nl + 1));
      const start = nl + 9;
      fields.push([name, data.subarray(start, start + len).toString()]);
      expect(data[start + len]).toBe(0x0a);
      at = start + len + 1;
    }
  }
  return fields;
}

describe('journal native protocol encoding', () => {
  it('NAME=value lines; a value with newlines in the binary form with its 64-bit little-endian length', () => {
    const data = encodeJournalEntry([
      ['MESSAGE', 'line one\nline two'],
      ['PRIORITY', '4'],
      ['CGWD_TUNNEL', '2'],
      ['CGWD_EMPTY', ''],
    ]);
    const binary = Buffer.concat([Buffer.from('MESSAGE\n'), Buffer.from([17, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('line one\nline two\n')]);
    expect(data.subarray(0, binary.length)).toEqual(binary);
    expect(data.subarray(binary.length).toString()).toBe('PRIORITY=4\nCGWD_TUNNEL=2\nCGWD_EMPTY=\n');
    expect(decodeJournalEntry(data)).toEqual([
      ['MESSAGE', 'line one\nline two'],
      ['PRIORITY', '4'],
      ['CGWD_TUNNEL', '2'],
      ['CGWD_EMPTY', ''],
    ]);
  });

  it('counts bytes, not characters, in the binary length', () => {
    const data = encodeJournalEntry([['MESSAGE', 'é\n']]);
    expect(data.readBigUInt64LE('MESSAGE\n'.length)).toBe(3n);
  });

  it('refuses field names journald would reject or treat as trusted', () => {
    for (const bad of ['_PID', 'message', 'A-B', '', 'X'.repeat(65), 'A=B']) {
      expect(() => encodeJournalEntry([[bad, 'v']])).toThrow(JournalFieldError);
    }
  });

  it('pino levels map to syslog priorities', () => {
    expect([10, 20, 30, 40, 50, 60].map(syslogPriority)).toEqual([7, 7, 6, 4, 3, 2]);
  });
});

describe('journal fields of a pino line', () => {
  it('MESSAGE carries msg and the other fields; tunnel, connection, event and code become filterable fields', () => {
    const line = JSON.stringify({ level: 40, time: '2026-12-03T00:00:00Z', pid: 1, hostname: 'h', name: 'cgwd', tunnel: 1, code: 'IKE_PEER_UNREACHABLE', msg: 'IKE SA down' });
    expect(journalFieldsFor(line, 'vpn-0123')).toEqual([
      ['MESSAGE', 'IKE SA down {"tunnel":1,"code":"IKE_PEER_UNREACHABLE"}'],
      ['PRIORITY', '4'],
      ['SYSLOG_IDENTIFIER', 'cgwd'],
      ['CGWD_CONNECTION', 'vpn-0123'],
      ['CGWD_TUNNEL', '1'],
      ['CGWD_CODE', 'IKE_PEER_UNREACHABLE'],
    ]);
    const aws = JSON.stringify({ level: 30, event: 'TunnelStatus', VpnConnectionId: 'vpn-9', tunnel: 2, msg: 'tunnel status' });
    const fields = journalFieldsFor(aws, 'vpn-0123');
    expect(fields).toContainEqual(['CGWD_CONNECTION', 'vpn-9']);
    expect(fields).toContainEqual(['CGWD_TUNNEL', '2']);
    expect(fields).toContainEqual(['CGWD_EVENT', 'TunnelStatus']);
    expect(journalFieldsFor('not json', undefined)).toBeUndefined();
    expect(journalFieldsFor('[1]', undefined)).toBeUndefined();
    expect(journalFieldsFor(JSON.stringify({ level: 30, msg: 'x', tunnel: 'one' }), undefined)?.map(([n]) => n)).toEqual(['MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER']);
  });

  it('JOURNAL_STREAM is honoured only when it names the descriptor', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cgwd-js-'));
    const fd = openSync(path.join(dir, 'f'), 'w');
    try {
      const st = fstatSync(fd);
      expect(fdIsJournalStream(`${st.dev}:${st.ino}`, fd)).toBe(true);
      expect(fdIsJournalStream(`${st.dev}:${st.ino + 1}`, fd)).toBe(false);
      expect(fdIsJournalStream(undefined, fd)).toBe(false);
      expect(fdIsJournalStream('garbage', fd)).toBe(false);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JournalOutput against a real Unix datagram listener', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cgwd-journal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a pino logger writes one native datagram per line, secrets redacted, multi-line values intact', async () => {
    const socketPath = path.join(dir, 'journal.sock');
    const listener = await UnixDatagramListener.open(socketPath);
    const stdout: string[] = [];
    try {
      const journal = new JournalOutput({ fallback: { write: (l: string) => stdout.push(l) }, send: unixDatagramSender(), socketPath });
      journal.setConnection('vpn-0abc');
      const log = createLogger({ level: 'info', output: journal });
      log.info({ tunnel: 2, psk: 'sEcReT_psk_1234' }, 'tunnel interface up');
      log.error({ tunnel: 1 }, 'data plane error\nsecond line');
      await listener.waitFor(() => true, 5000, 1);
      const [first, second] = listener.datagrams.map(decodeJournalEntry);
      const f = new Map(first);
      expect(f.get('CGWD_CONNECTION')).toBe('vpn-0abc');
      expect(f.get('CGWD_TUNNEL')).toBe('2');
      expect(f.get('PRIORITY')).toBe('6');
      expect(f.get('MESSAGE')).toMatch(/^tunnel interface up /);
      expect(listener.datagrams[0]?.toString()).not.toContain('sEcReT');
      const s = new Map(second);
      expect(s.get('PRIORITY')).toBe('3');
      expect(s.get('CGWD_TUNNEL')).toBe('1');
      expect(s.get('MESSAGE')).toBe('data plane error\nsecond line {"tunnel":1}');
      expect(listener.datagrams[1]?.subarray(0, 8).toString()).toBe('MESSAGE\n'); // the binary form
      expect([journal.sent, journal.fellBack, stdout.length]).toEqual([2, 0, 0]);
    } finally {
      await listener.close();
    }
  });

  it('falls back to stdout, line for line, when the journal socket is not there', () => {
    const stdout: string[] = [];
    const journal = new JournalOutput({ fallback: { write: (l: string) => stdout.push(l) }, send: unixDatagramSender(), socketPath: path.join(dir, 'absent.sock') });
    const log = createLogger({ level: 'info', output: journal });
    log.warn({ tunnel: 1 }, 'keepalive health changed');
    expect(journal.fellBack).toBe(1);
    expect(JSON.parse(stdout[0] ?? '{}')).toMatchObject({ tunnel: 1, msg: 'keepalive health changed', level: 40 });
  });
});
