/** The CLI's end of the control socket: one request, one capped JSON reply. */
import net from 'node:net';
import { CgwdError } from '../errors.js';
import type { DaemonStatus } from '../daemon/status.js';
import { MAX_REPLY_BYTES, type ControlCommand, type ControlReply } from './protocol.js';

/** The daemon answered with an error (its code and message are the daemon's). */
export class ControlCommandError extends CgwdError {
  readonly details: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(code, message);
    this.details = details;
  }
}

export function controlRequest<T>(socketPath: string, command: ControlCommand, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const socket = net.connect(socketPath, () => socket.write(`${JSON.stringify({ command })}\n`));
    const timer = setTimeout(() => {
      socket.destroy();
      settle(() => reject(new CgwdError('STATUS_TIMEOUT', `no answer from cgwd on ${socketPath}`)));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) {
        socket.destroy();
        settle(() => reject(new CgwdError('STATUS_MALFORMED', `the answer from ${socketPath} exceeds ${MAX_REPLY_BYTES} bytes`)));
        return;
      }
      chunks.push(chunk);
    });
    socket.on('error', (error) => {
      settle(() => reject(new CgwdError('STATUS_UNREACHABLE', `cgwd is not running (cannot connect to ${socketPath}: ${error.message})`)));
    });
    socket.on('end', () => {
      settle(() => {
        let reply: ControlReply<T>;
        try {
          reply = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlReply<T>;
        } catch {
          reject(new CgwdError('STATUS_MALFORMED', `unreadable answer from ${socketPath}`));
          return;
        }
        if (reply.ok) resolve(reply.result);
        else reject(new ControlCommandError(reply.error.code, reply.error.message, reply.error.details));
      });
    });
  });
}

/** True when a daemon answers on the socket (start refuses to clean up after a live cgwd). */
export function controlSocketAnswers(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** What `cgwd status` asks. */
export function queryStatus(socketPath: string, timeoutMs = 5_000): Promise<DaemonStatus> {
  return controlRequest<DaemonStatus>(socketPath, 'status', timeoutMs);
}
