/**
 * The service manager's view of cgwd: sd_notify(3) messages on NOTIFY_SOCKET.
 *
 *   start ── data plane, sockets, control socket up ──► READY=1 (+ STATUS=)     (AWS not awaited)
 *   while running: STATUS=<one line per tunnel>  when it changes, at most once a second
 *                  WATCHDOG=1 every WATCHDOG_USEC/2, only if the Node event loop ran the timer
 *                  AND every packet thread's heartbeat moved since the last one
 *   reload:        RELOADING=1 + MONOTONIC_USEC=…, then READY=1 (reloading()/ready())
 *   stop:          STOPPING=1
 *
 * Node has no Unix datagram sockets, so the datagrams leave through the native addon
 * (native/src/notify.c). Without NOTIFY_SOCKET every method is a no-op. The variables are
 * removed from the environment once read, so child processes (keepalive pings) neither
 * inherit nor misuse them (sd_notify's unset_environment). WATCHDOG_PID, when set, names
 * the process the watchdog is meant for; another process sends no WATCHDOG=1.
 */
import type { Logger } from 'pino';
import { CgwdError } from '../errors.js';
import { loadDataplane } from '../native/addon.js';

/** Sends one datagram; returns 0 or an errno value. */
export type DatagramSender = (socketPath: string, data: Uint8Array) => number;

/** A source of progress: a counter that must move between two watchdog pings (undefined: gone, ignored). */
export type HeartbeatSource = () => number | undefined;

export class NotifyConfigError extends CgwdError {
  constructor(message: string) {
    super('SERVICE_NOTIFY_CONFIG', message);
  }
}

export interface ServiceNotifierOptions {
  /** NOTIFY_SOCKET: a path or an '@' abstract name; undefined disables everything. */
  socket: string | undefined;
  /** WATCHDOG_USEC as microseconds; undefined or 0: no watchdog. */
  watchdogUsec?: number | undefined;
  send: DatagramSender;
  logger?: Logger | undefined;
  /** Minimum gap between two STATUS= messages (default 1000 ms). */
  statusMinIntervalMs?: number;
  /** Microseconds on CLOCK_MONOTONIC (libuv's hrtime is CLOCK_MONOTONIC on Linux). */
  monotonicUsec?: () => bigint;
}

export interface EnvironmentOptions {
  env?: NodeJS.ProcessEnv;
  pid?: number;
  send?: DatagramSender;
  logger?: Logger | undefined;
}

const STATUS_MAX_CHARS = 400;

export class ServiceNotifier {
  readonly socket: string | undefined;
  /** How often WATCHDOG=1 goes out: half of WATCHDOG_USEC (sd_watchdog_enabled(3)). */
  readonly watchdogIntervalMs: number | undefined;
  readonly #send: DatagramSender;
  readonly #logger: Logger | undefined;
  readonly #statusMinIntervalMs: number;
  readonly #monotonicUsec: () => bigint;
  #watchdogTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #pendingStatus: string | undefined;
  #lastStatus: string | undefined;
  #lastStatusAt = -Infinity;
  #lastBeats: (number | undefined)[] = [];
  #withholding = false;
  #failed = false;
  #closed = false;
  /** Messages sent, in order (what a test or `status` may show; never secrets). */
  readonly sent: string[] = [];

  constructor(options: ServiceNotifierOptions) {
    this.socket = options.socket;
    const usec = options.watchdogUsec;
    this.watchdogIntervalMs = this.socket !== undefined && usec !== undefined && usec > 0 ? Math.max(1, Math.floor(usec / 2000)) : undefined;
    this.#send = options.send;
    this.#logger = options.logger;
    this.#statusMinIntervalMs = options.statusMinIntervalMs ?? 1000;
    this.#monotonicUsec = options.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n);
  }

  /**
   * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and deletes them from `env`. A
   * malformed value throws NotifyConfigError (a unit file mistake should be loud).
   */
  static fromEnvironment(options: EnvironmentOptions = {}): ServiceNotifier {
    const env = options.env ?? process.env;
    const socket = env.NOTIFY_SOCKET;
    const usecText = env.WATCHDOG_USEC;
    const pidText = env.WATCHDOG_PID;
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    if (socket === undefined || socket === '') return new ServiceNotifier({ socket: undefined, send: () => 0 });
    if (!socket.startsWith('/') && !socket.startsWith('@')) {
      throw new NotifyConfigError(`NOTIFY_SOCKET must be an absolute path or an @abstract name, not ${JSON.stringify(socket.slice(0, 80))}`);
    }
    if (Buffer.byteLength(socket) > 107) throw new NotifyConfigError('NOTIFY_SOCKET is longer than a Unix socket address allows (107 bytes)');
    let watchdogUsec: number | undefined;
    if (usecText !== undefined && usecText !== '') {
      if (!/^\d{1,15}$/.test(usecText)) throw new NotifyConfigError(`WATCHDOG_USEC must be a number of microseconds, not ${JSON.stringify(usecText.slice(0, 40))}`);
      watchdogUsec = Number(usecText);
    }
    if (pidText !== undefined && pidText !== '') {
      if (!/^\d{1,10}$/.test(pidText)) throw new NotifyConfigError(`WATCHDOG_PID must be a process id, not ${JSON.stringify(pidText.slice(0, 40))}`);
      // The watchdog was set up for another process (sd_watchdog_enabled(3)): leave it to that one.
      if (Number(pidText) !== (options.pid ?? process.pid)) watchdogUsec = undefined;
    }
    return new ServiceNotifier({ socket, watchdogUsec, send: options.send ?? nativeSender(), logger: options.logger });
  }

  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /** READY=1, optionally with a first STATUS= line: the gateway serves (start, or the end of a reload). */
  ready(status?: string): void {
    const lines = ['READY=1'];
    if (status !== undefined) {
      const line = oneLine(status);
      lines.push(`STATUS=${line}`);
      this.#lastStatus = line;
      this.#lastStatusAt = Date.now();
    }
    this.#notify(lines);
  }

  /** RELOADING=1 with MONOTONIC_USEC= (systemd ≥ 253 pairs it with the ExecReload= it waits for). */
  reloading(): void {
    this.#notify(['RELOADING=1', `MONOTONIC_USEC=${this.#monotonicUsec()}`]);
  }

  stopping(): void {
    this.#notify(['STOPPING=1']);
  }

  /** STATUS=: sent when it differs from the last one, at most once per statusMinIntervalMs (the last change wins). */
  status(line: string): void {
    if (!this.enabled || this.#closed) return;
    const text = oneLine(line);
    if (text === this.#lastStatus) {
      this.#pendingStatus = undefined;
      return;
    }
    const wait = this.#lastStatusAt + this.#statusMinIntervalMs - Date.now();
    if (wait <= 0) {
      this.#sendStatus(text);
      return;
    }
    this.#pendingStatus = text;
    if (!this.#statusTimer) {
      this.#statusTimer = setTimeout(() => {
        this.#statusTimer = undefined;
        const pending = this.#pendingStatus;
        this.#pendingStatus = undefined;
        if (pending !== undefined && pending !== this.#lastStatus) this.#sendStatus(pending);
      }, wait);
      this.#statusTimer.unref();
    }
  }

  /**
   * Starts WATCHDOG=1 every watchdogIntervalMs. Each one needs the event loop (it runs the
   * timer) and every heartbeat source to have moved since the previous check; while one
   * stands still none is sent, so systemd restarts a daemon whose packet thread hangs.
   */
  startWatchdog(heartbeats: readonly HeartbeatSource[]): void {
    const interval = this.watchdogIntervalMs;
    if (interval === undefined || this.#closed || this.#watchdogTimer) return;
    this.#lastBeats = heartbeats.map((beat) => beat());
    this.#notify(['WATCHDOG=1']);
    this.#watchdogTimer = setInterval(() => this.#watchdogTick(heartbeats), interval);
    this.#watchdogTimer.unref();
  }

  /** Stops the timers (the daemon is gone); later calls do nothing. */
  close(): void {
    this.#closed = true;
    if (this.#watchdogTimer) clearInterval(this.#watchdogTimer);
    if (this.#statusTimer) clearTimeout(this.#statusTimer);
    this.#watchdogTimer = undefined;
    this.#statusTimer = undefined;
  }

  #watchdogTick(heartbeats: readonly HeartbeatSource[]): void {
    const beats = heartbeats.map((beat) => beat());
    const stalled = beats.findIndex((beat, i) => beat !== undefined && beat === this.#lastBeats[i]);
    this.#lastBeats = beats;
    if (stalled >= 0) {
      if (!this.#withholding) {
        this.#logger?.error({ source: stalled, intervalMs: this.watchdogIntervalMs }, 'packet thread made no progress: withholding the systemd watchdog ping');
      }
      this.#withholding = true;
      return;
    }
    if (this.#withholding) this.#logger?.warn('packet thread progressing again: systemd watchdog pings resume');
    this.#withholding = false;
    this.#notify(['WATCHDOG=1']);
  }

  #sendStatus(text: string): void {
    this.#lastStatus = text;
    this.#lastStatusAt = Date.now();
    this.#notify([`STATUS=${text}`]);
  }

  #notify(lines: string[]): void {
    const socket = this.socket;
    if (socket === undefined || this.#closed) return;
    const message = lines.join('\n');
    const errno = this.#send(socket, Buffer.from(message));
    if (errno !== 0) {
      // The manager may be restarting; one warning, then quiet until a send works again.
      if (!this.#failed) this.#logger?.warn({ errno, socket }, 'sd_notify failed');
      this.#failed = true;
      return;
    }
    this.#failed = false;
    this.sent.push(message);
    if (this.sent.length > 64) this.sent.shift();
  }
}

/** STATUS= is one line: newlines would start another assignment. */
function oneLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > STATUS_MAX_CHARS ? `${flat.slice(0, STATUS_MAX_CHARS - 1)}…` : flat;
}

/** The addon's sendUnixDatagram, loaded on first use (only when a socket is configured). */
function nativeSender(): DatagramSender {
  return (socketPath, data) => unixDatagramSender()(socketPath, data);
}

let cachedSender: DatagramSender | undefined;

/** The native AF_UNIX datagram sender (native/src/notify.c); throws when the addon is not built. */
export function unixDatagramSender(): DatagramSender {
  if (!cachedSender) {
    const addon = loadDataplane();
    cachedSender = (socketPath, data) => addon.sendUnixDatagram(socketPath, data);
  }
  return cachedSender;
}
