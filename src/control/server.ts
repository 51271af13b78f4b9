/**
 * The daemon's end of the control socket (`cgwd status`, `cgwd reload`): a Unix stream socket
 * whose mode is set explicitly (0660: the owner and the socket's group, e.g. `cgwd`, may use
 * it; nobody else), with a cap on connections, on the request size and on the time to send it.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { CgwdError } from '../errors.js';
import { isControlCommand, MAX_CONNECTIONS, MAX_REQUEST_BYTES, REQUEST_TIMEOUT_MS, type ControlCommand, type ControlReply } from './protocol.js';

export type ControlHandler = () => unknown | Promise<unknown>;

export interface ControlServerOptions {
  readonly socketPath: string;
  readonly handlers: Readonly<Partial<Record<ControlCommand, ControlHandler>>>;
  readonly logger: Logger;
  /** Socket mode (default 0o660). */
  readonly mode?: number;
  /** Numeric group to give the socket (default: the process's group). */
  readonly gid?: number;
}

export class ControlServer {
  readonly #options: ControlServerOptions;
  readonly #server: net.Server;
  #connections = 0;
  #refused = 0;

  private constructor(options: ControlServerOptions) {
    this.#options = options;
    this.#server = net.createServer((socket) => this.#serve(socket));
  }

  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const control = new ControlServer(options);
    const socketPath = options.socketPath;
    mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o750 });
    if (existsSync(socketPath)) {
      if (!lstatSync(socketPath).isSocket()) {
        throw new CgwdError('CONTROL_SOCKET_PATH', `${socketPath} exists and is not a socket; refusing to replace it`);
      }
      rmSync(socketPath);
    }
    await new Promise<void>((resolve, reject) => {
      control.#server.once('error', reject);
      control.#server.listen(socketPath, () => {
        control.#server.off('error', reject);
        resolve();
      });
    });
    chmodSync(socketPath, options.mode ?? 0o660);
    if (options.gid !== undefined) chownSync(socketPath, process.getuid?.() ?? 0, options.gid);
    return control;
  }

  /** Connections turned away because MAX_CONNECTIONS were open. */
  get refused(): number {
    return this.#refused;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#options.socketPath, { force: true });
  }

  #serve(socket: net.Socket): void {
    this.#connections += 1;
    socket.on('close', () => (this.#connections -= 1));
    socket.on('error', () => undefined);
    if (this.#connections > MAX_CONNECTIONS) {
      this.#refused += 1;
      socket.destroy();
      return;
    }
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => this.#reply(socket, fail('CONTROL_TIMEOUT', 'no request line in time')), REQUEST_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const newline = received.indexOf(0x0a);
      if (newline < 0 && received.length <= MAX_REQUEST_BYTES) return;
      socket.off('data', onData);
      clearTimeout(timer);
      if (newline < 0 || newline > MAX_REQUEST_BYTES) {
        this.#reply(socket, fail('CONTROL_REQUEST_TOO_LARGE', `requests are at most ${MAX_REQUEST_BYTES} bytes`));
        return;
      }
      void this.#dispatch(received.subarray(0, newline).toString('utf8')).then((reply) => this.#reply(socket, reply));
    };
    socket.on('data', onData);
    socket.on('end', () => clearTimeout(timer));
  }

  async #dispatch(line: string): Promise<ControlReply> {
    let command: unknown;
    try {
      command = (JSON.parse(line) as { command?: unknown }).command;
    } catch {
      return fail('CONTROL_BAD_REQUEST', 'the request is not JSON');
    }
    if (!isControlCommand(command)) return fail('CONTROL_UNKNOWN_COMMAND', 'unknown command');
    const handler = this.#options.handlers[command];
    if (!handler) return fail('CONTROL_UNKNOWN_COMMAND', `this daemon does not take "${command}"`);
    try {
      return { ok: true, result: await handler() };
    } catch (error) {
      if (error instanceof CgwdError) {
        const details = (error as CgwdError & { details?: unknown }).details;
        return { ok: false, error: { code: error.code, message: error.message, ...(details !== undefined ? { details } : {}) } };
      }
      this.#options.logger.error({ command, err: error instanceof Error ? error.message : String(error) }, 'control command failed');
      return fail('CONTROL_INTERNAL', 'the command failed; see the daemon log');
    }
  }

  #reply(socket: net.Socket, reply: ControlReply): void {
    if (socket.destroyed) return;
    socket.end(`${JSON.stringify(reply)}\n`);
  }
}

function fail(code: string, message: string): ControlReply {
  return { ok: false, error: { code, message } };
}
