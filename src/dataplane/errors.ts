import { CgwdError } from '../errors.js';

/**
 * Errors raised by the data plane. Each class has one stable `code`; messages
 * name SAs by id and SPI, tunnels by number and interface, never key material.
 */
export class DataplaneError extends CgwdError {}

/** The native addon could not be loaded (not built, wrong ABI). */
export class DataplaneAddonError extends DataplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATAPLANE_ADDON', message, options);
  }
}

/** Options for the data plane itself or for a tunnel are out of range. */
export class DataplaneOptionsError extends DataplaneError {
  constructor(message: string) {
    super('DATAPLANE_BAD_OPTIONS', message);
  }
}

/** A ChildSaInstall that must not reach the data plane (unknown transform, key lengths, SPI 0, ...). */
export class ChildSaInvalidError extends DataplaneError {
  readonly saId: number;
  constructor(saId: number, message: string) {
    super('DATAPLANE_BAD_SA', `CHILD SA ${saId}: ${message}`);
    this.saId = saId;
  }
}

/** An SA with the same id or inbound SPI, or a tunnel with the same number or interface, exists already. */
export class DataplaneConflictError extends DataplaneError {
  constructor(message: string) {
    super('DATAPLANE_CONFLICT', message);
  }
}

/** The tunnel (or SA) named does not exist. */
export class DataplaneNotFoundError extends DataplaneError {
  constructor(message: string) {
    super('DATAPLANE_NOT_FOUND', message);
  }
}

/** The data plane was closed. */
export class DataplaneClosedError extends DataplaneError {
  constructor() {
    super('DATAPLANE_CLOSED', 'the data plane is closed');
  }
}

/** The operating system refused (bind, setns, TUN creation, ...). `errnoName` is e.g. "EADDRINUSE". */
export class DataplaneSystemError extends DataplaneError {
  readonly errno: number | undefined;
  readonly errnoName: string | undefined;
  constructor(message: string, errno?: number, errnoName?: string) {
    super('DATAPLANE_SYSTEM', message);
    this.errno = errno;
    this.errnoName = errnoName;
  }
}

interface NativeErrorShape {
  code?: unknown;
  message?: unknown;
  errno?: unknown;
  errnoName?: unknown;
}

/** Maps an error thrown by the addon (code DP_*) to the matching class; anything else is returned unchanged. */
export function fromNative(error: unknown, context: string): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const e = error as NativeErrorShape;
  const message = `${context}: ${typeof e.message === 'string' ? e.message : 'failed'}`;
  switch (e.code) {
    case 'DP_BAD_ARG':
      return new DataplaneOptionsError(message);
    case 'DP_EXISTS':
      return new DataplaneConflictError(message);
    case 'DP_NOT_FOUND':
      return new DataplaneNotFoundError(message);
    case 'DP_CLOSED':
      return new DataplaneClosedError();
    case 'DP_SYSTEM':
      return new DataplaneSystemError(
        message,
        typeof e.errno === 'number' ? e.errno : undefined,
        typeof e.errnoName === 'string' ? e.errnoName : undefined,
      );
    default:
      return error;
  }
}
