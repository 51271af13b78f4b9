/**
 * Logs straight into journald with fields a `journalctl` user can filter on:
 *
 *   journalctl -u cgwd CGWD_TUNNEL=1        journalctl CGWD_CONNECTION=vpn-0123 -p warning
 *
 * Under systemd stdout is already a journal stream (JOURNAL_STREAM names its device and inode),
 * but a stream carries only MESSAGE. So when stdout *is* that stream, each pino JSON line is
 * re-sent as one datagram of the journal's native protocol to /run/systemd/journal/socket
 * (systemd's "Native Journal Protocol" document; fields as in systemd.journal-fields(7)):
 *
 *   MESSAGE=<msg> <the other fields as JSON>     PRIORITY=<syslog level from the pino level>
 *   SYSLOG_IDENTIFIER=cgwd   CGWD_CONNECTION=vpn-…   CGWD_TUNNEL=1|2   CGWD_EVENT=TunnelStatus …
 *
 * strongSwan's charon-systemd does the same with IKE_SA_NAME. A value holding a newline is
 * sent in the protocol's binary form (name, '\n', 64-bit little-endian length, bytes, '\n').
 * When a datagram cannot be sent (no journald, message too large) the JSON line goes to
 * stdout as before, so nothing is lost. Lines are already redacted by the logger.
 */
import { fstatSync } from 'node:fs';
import { CgwdError } from '../errors.js';
import { loadDataplane } from '../native/addon.js';
import type { LogOutput } from './logger.js';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** pino's numeric levels → syslog priorities (RFC 5424 §6.2.1 severities). */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2; // fatal → crit
  if (pinoLevel >= 50) return 3; // error → err
  if (pinoLevel >= 40) return 4; // warn → warning
  if (pinoLevel >= 30) return 6; // info → info
  return 7; // debug, trace → debug
}

export type JournalField = readonly [name: string, value: string];

const FIELD_NAME = /^[A-Z0-9][A-Z0-9_]{0,63}$/;

export class JournalFieldError extends CgwdError {
  constructor(message: string) {
    super('JOURNAL_FIELD_NAME', message);
  }
}

/** One native-protocol datagram. Field names: A–Z, 0–9, '_', not starting with '_', ≤ 64 chars. */
export function encodeJournalEntry(fields: readonly JournalField[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    if (!FIELD_NAME.test(name)) throw new JournalFieldError(`invalid journal field name ${JSON.stringify(name.slice(0, 70))}`);
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.includes(0x0a)) {
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(bytes.length));
      parts.push(Buffer.from(`${name}\n`), length, bytes, Buffer.from('\n'));
    } else {
      parts.push(Buffer.from(`${name}=`), bytes, Buffer.from('\n'));
    }
  }
  return Buffer.concat(parts);
}

/** pino's own fields, left out of MESSAGE's JSON tail. */
const PINO_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/**
 * The journal fields of one pino JSON line, or undefined when the line is not a JSON object.
 * `connection` is the VPN connection's id when the daemon knows it; a line's own
 * `connection` or `VpnConnectionId` field wins.
 */
export function journalFieldsFor(line: string, connection: string | undefined): JournalField[] | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const entries = Object.entries(record as Record<string, unknown>);
  const get = (key: string): unknown => entries.find(([k]) => k === key)?.[1];
  const level = get('level');
  const msg = get('msg');
  const rest = Object.fromEntries(entries.filter(([k]) => !PINO_FIELDS.has(k)));
  const tail = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  const fields: JournalField[] = [
    ['MESSAGE', `${typeof msg === 'string' ? msg : ''}${tail}`.trim()],
    ['PRIORITY', String(syslogPriority(typeof level === 'number' ? level : 30))],
    ['SYSLOG_IDENTIFIER', 'cgwd'],
  ];
  const conn = get('connection') ?? get('VpnConnectionId') ?? connection;
  if (typeof conn === 'string' && conn !== '') fields.push(['CGWD_CONNECTION', conn]);
  const tunnel = get('tunnel');
  if (typeof tunnel === 'number' && Number.isInteger(tunnel)) fields.push(['CGWD_TUNNEL', String(tunnel)]);
  const event = get('event');
  if (typeof event === 'string' && event !== '') fields.push(['CGWD_EVENT', event]);
  const code = get('code');
  if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) fields.push(['CGWD_CODE', code]);
  return fields;
}

export interface JournalOutputOptions {
  /** Where lines go when the journal cannot take them (stdout). */
  fallback: LogOutput;
  send: (socketPath: string, data: Uint8Array) => number;
  socketPath?: string;
}

/** A LogOutput for pino that writes native-protocol datagrams, falling back to `fallback`. */
export class JournalOutput implements LogOutput {
  #connection: string | undefined;
  readonly #fallback: LogOutput;
  readonly #send: (socketPath: string, data: Uint8Array) => number;
  readonly #socket: string;
  /** Datagrams journald took, and lines that went to the fallback instead. */
  sent = 0;
  fellBack = 0;

  constructor(options: JournalOutputOptions) {
    this.#fallback = options.fallback;
    this.#send = options.send;
    this.#socket = options.socketPath ?? JOURNAL_SOCKET;
  }

  /** The VPN connection id for CGWD_CONNECTION on every later line. */
  setConnection(connectionId: string): void {
    this.#connection = connectionId;
  }

  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      const fields = journalFieldsFor(line, this.#connection);
      if (fields && this.#send(this.#socket, encodeJournalEntry(fields)) === 0) {
        this.sent++;
        continue;
      }
      this.fellBack++;
      this.#fallback.write(`${line}\n`);
    }
    return true;
  }
}

/**
 * True when JOURNAL_STREAM ("device:inode") names the file descriptor: systemd connected
 * stdout to the journal, and the native protocol may replace it (systemd.exec(5), JOURNAL_STREAM).
 */
export function fdIsJournalStream(journalStream: string | undefined, fd = 1): boolean {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] ?? '') && st.ino === BigInt(m[2] ?? '');
  } catch {
    return false;
  }
}

/**
 * The journal output for `cgwd up` when systemd connected stdout to the journal
 * (JOURNAL_STREAM matches fd 1) and the native addon loads; otherwise undefined (plain stdout).
 */
export function journalOutputFromEnvironment(stdout: LogOutput, env: NodeJS.ProcessEnv = process.env): JournalOutput | undefined {
  if (!fdIsJournalStream(env.JOURNAL_STREAM)) return undefined;
  let send: (socketPath: string, data: Uint8Array) => number;
  try {
    const addon = loadDataplane();
    send = (socketPath, data) => addon.sendUnixDatagram(socketPath, data);
  } catch {
    return undefined;
  }
  return new JournalOutput({ fallback: stdout, send });
}
