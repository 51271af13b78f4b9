/**
 * A decode error that IS the NOTIFICATION to send (GoBGP's MessageError):
 * every BGP decoder throws {@link BgpMessageError} carrying the Error Code,
 * Subcode and Data RFC 4271 §6 prescribes for the fault, plus the RFC 7606
 * approach that applies to it. The FSM sends it as it is when the approach is
 * a session reset; UPDATE faults that RFC 7606 downgrades arrive instead as
 * {@link UpdateProblem}s on a decoded UPDATE.
 */
import { CgwdError } from '../errors.js';
import {
  CeaseSubcode,
  ErrorCode,
  FsmErrorSubcode,
  HeaderErrorSubcode,
  OpenErrorSubcode,
  RouteRefreshErrorSubcode,
  UpdateErrorSubcode,
} from './constants.js';

/** RFC 7606 §2 approaches, weakest first; when several apply, the strongest wins (§3(h)). */
export type ErrorHandling = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

const STRENGTH: Readonly<Record<ErrorHandling, number>> = {
  'attribute-discard': 0,
  'treat-as-withdraw': 1,
  'session-reset': 2,
};

export function strongestHandling(a: ErrorHandling, b: ErrorHandling): ErrorHandling {
  return STRENGTH[a] >= STRENGTH[b] ? a : b;
}

export interface NotificationFields {
  readonly errorCode: number;
  readonly errorSubcode: number;
  readonly data: Buffer;
}

export class BgpMessageError extends CgwdError implements NotificationFields {
  readonly errorCode: number;
  readonly errorSubcode: number;
  /** The NOTIFICATION Data field (RFC 4271 §6: the erroneous field or attribute, or empty). */
  readonly data: Buffer;
  readonly handling: ErrorHandling;

  constructor(errorCode: number, errorSubcode: number, message: string, options: { data?: Buffer; handling?: ErrorHandling; cause?: unknown } = {}) {
    super('BGP_MESSAGE_ERROR', `${message} (NOTIFICATION ${errorCode}/${errorSubcode} ${notificationName(errorCode, errorSubcode)})`, {
      cause: options.cause,
    });
    this.errorCode = errorCode;
    this.errorSubcode = errorSubcode;
    this.data = options.data ?? Buffer.alloc(0);
    this.handling = options.handling ?? 'session-reset';
  }
}

/** An UPDATE fault RFC 7606 lets the session survive: the route is withdrawn or the attribute dropped. */
export interface UpdateProblem {
  readonly error: BgpMessageError;
  readonly handling: Exclude<ErrorHandling, 'session-reset'>;
}

const CODE_NAMES: Readonly<Record<number, string>> = {
  [ErrorCode.MESSAGE_HEADER]: 'Message Header Error',
  [ErrorCode.OPEN_MESSAGE]: 'OPEN Message Error',
  [ErrorCode.UPDATE_MESSAGE]: 'UPDATE Message Error',
  [ErrorCode.HOLD_TIMER_EXPIRED]: 'Hold Timer Expired',
  [ErrorCode.FSM]: 'Finite State Machine Error',
  [ErrorCode.CEASE]: 'Cease',
  [ErrorCode.ROUTE_REFRESH_MESSAGE]: 'ROUTE-REFRESH Message Error',
};

function invert(table: Readonly<Record<string, number>>): Map<number, string> {
  return new Map(Object.entries(table).map(([name, value]) => [value, name.toLowerCase().replaceAll('_', ' ')]));
}

const SUBCODE_NAMES: ReadonlyMap<number, ReadonlyMap<number, string>> = new Map([
  [ErrorCode.MESSAGE_HEADER, invert(HeaderErrorSubcode)],
  [ErrorCode.OPEN_MESSAGE, invert(OpenErrorSubcode)],
  [ErrorCode.UPDATE_MESSAGE, invert(UpdateErrorSubcode)],
  [ErrorCode.FSM, invert(FsmErrorSubcode)],
  [ErrorCode.CEASE, invert(CeaseSubcode)],
  [ErrorCode.ROUTE_REFRESH_MESSAGE, invert(RouteRefreshErrorSubcode)],
]);

/** "Cease / administrative shutdown" — for logs and `cgwd status`. */
export function notificationName(code: number, subcode: number): string {
  const codeName = CODE_NAMES[code] ?? `error code ${code}`;
  if (subcode === 0 && code !== ErrorCode.FSM) return codeName;
  const subName = SUBCODE_NAMES.get(code)?.get(subcode) ?? `subcode ${subcode}`;
  return `${codeName} / ${subName}`;
}

/** Data field carrying a 1- or 2-octet value (bad length, bad type, supported version). */
export function u8Data(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

export function u16Data(value: number): Buffer {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(value & 0xffff, 0);
  return data;
}
