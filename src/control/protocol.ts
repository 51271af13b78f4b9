/**
 * The control socket's protocol: one request per connection, one JSON line each way.
 *
 *   client → {"command":"status"}\n
 *   server → {"ok":true,"result":{…}}\n   or   {"ok":false,"error":{"code":"…","message":"…"}}\n
 *
 * Both ends cap what they read, so neither a stuck client nor a confused server can make the
 * other buffer without bound.
 */
export const CONTROL_COMMANDS = ['status', 'reload'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlRequest {
  readonly command: ControlCommand;
}

export type ControlReply<T = unknown> =
  | { readonly ok: true; readonly result: T }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly details?: unknown } };

/** A request line is tiny; anything longer is refused. */
export const MAX_REQUEST_BYTES = 4 * 1024;
/** A status reply with two tunnels is a few kilobytes; 4 MiB leaves room for 1,000 routes and more. */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** Connections served at once; more are closed at once (a status poller needs one). */
export const MAX_CONNECTIONS = 16;
/** A client that has not sent its request line by then is disconnected. */
export const REQUEST_TIMEOUT_MS = 2_000;

export function isControlCommand(value: unknown): value is ControlCommand {
  return typeof value === 'string' && (CONTROL_COMMANDS as readonly string[]).includes(value);
}
