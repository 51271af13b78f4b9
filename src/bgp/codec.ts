/**
 * Whole BGP messages: the 19-octet header (RFC 4271 §4.1) and the dispatch to
 * each message's body codec. `decodeMessage` throws only {@link BgpMessageError}:
 *
 *   marker not all ones                     1/1
 *   Length ≠ frame, < 19, > 4096, or below
 *   the type's minimum (KEEPALIVE: ≠ 19)    1/2, data = the Length field
 *   type not 1..5                           1/3, data = the Type field
 *   ROUTE-REFRESH body not 4 octets         7/1, data = the message (RFC 7313 §5)
 *
 * plus whatever the OPEN and UPDATE decoders throw. A bounds fault that slips
 * past the explicit checks (it should not) still surfaces as that message
 * type's NOTIFICATION, never as a crash.
 */
import {
  ErrorCode,
  HEADER_LENGTH,
  HeaderErrorSubcode,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  MIN_MESSAGE_LENGTH,
  RouteRefreshErrorSubcode,
  UNSPECIFIC_SUBCODE,
  UpdateErrorSubcode,
} from './constants.js';
import { BgpMessageError, u16Data, u8Data } from './errors.js';
import { checkLengthField, checkMarker, readLengthField, readTypeField } from './framer.js';
import type { BgpMessage, NotificationMessage, RouteRefreshMessage } from './messages.js';
import { decodeOpen, encodeOpenBody } from './open.js';
import { decodeUpdate, encodeUpdateBody, type UpdateCodecContext } from './update.js';
import { WireError, Writer } from '../wire/buffer.js';

/** Everything the session knows that changes how messages are encoded or checked. */
export type CodecContext = UpdateCodecContext;

/** Before the OPENs are exchanged: 2-octet AS fields, no peer-AS check. */
export const INITIAL_CODEC_CONTEXT: CodecContext = { fourOctetAs: false };

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));

function isMessageType(type: number): type is MessageType {
  return KNOWN_TYPES.has(type);
}

const UNSPECIFIC_FAULT: Readonly<Record<MessageType, readonly [number, number]>> = {
  [MessageType.OPEN]: [ErrorCode.OPEN_MESSAGE, UNSPECIFIC_SUBCODE],
  [MessageType.UPDATE]: [ErrorCode.UPDATE_MESSAGE, UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST],
  [MessageType.NOTIFICATION]: [ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH],
  [MessageType.KEEPALIVE]: [ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH],
  [MessageType.ROUTE_REFRESH]: [ErrorCode.ROUTE_REFRESH_MESSAGE, RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH],
};

/** Checks the header of a complete frame; returns its type. */
export function checkHeader(frame: Buffer): MessageType {
  if (frame.length < HEADER_LENGTH) {
    throw new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH, `${frame.length} octets cannot hold a header`, {
      data: u16Data(frame.length),
    });
  }
  checkMarker(frame);
  const length = readLengthField(frame);
  checkLengthField(length);
  if (length !== frame.length) {
    throw new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH, `Length says ${length}, frame has ${frame.length}`, {
      data: u16Data(length),
    });
  }
  const type = readTypeField(frame);
  if (!isMessageType(type)) {
    throw new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_TYPE, `message type ${type} is not known`, { data: u8Data(type) });
  }
  const tooShort = length < MIN_MESSAGE_LENGTH[type];
  if (tooShort || (type === MessageType.KEEPALIVE && length !== MIN_MESSAGE_LENGTH[type])) {
    throw new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH, `type ${type} message of ${length} octets`, {
      data: u16Data(length),
    });
  }
  return type;
}

function decodeNotification(body: Buffer): NotificationMessage {
  return { type: 'notification', errorCode: body.readUInt8(0), errorSubcode: body.readUInt8(1), data: Buffer.from(body.subarray(2)) };
}

function decodeRouteRefresh(frame: Buffer, body: Buffer): RouteRefreshMessage {
  if (body.length !== 4) {
    throw new BgpMessageError(ErrorCode.ROUTE_REFRESH_MESSAGE, RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH, `ROUTE-REFRESH of ${frame.length} octets`, {
      data: Buffer.from(frame),
    });
  }
  return { type: 'route-refresh', afi: body.readUInt16BE(0), subtype: body.readUInt8(2), safi: body.readUInt8(3) };
}

/** Decodes one complete message (header included), as the framer hands it out. */
export function decodeMessage(frame: Buffer, ctx: CodecContext = INITIAL_CODEC_CONTEXT): BgpMessage {
  const type = checkHeader(frame);
  const body = frame.subarray(HEADER_LENGTH);
  try {
    switch (type) {
      case MessageType.OPEN:
        return decodeOpen(body);
      case MessageType.UPDATE:
        return decodeUpdate(body, ctx);
      case MessageType.NOTIFICATION:
        return decodeNotification(body);
      case MessageType.KEEPALIVE:
        return { type: 'keepalive' };
      case MessageType.ROUTE_REFRESH:
        return decodeRouteRefresh(frame, body);
    }
  } catch (error) {
    if (error instanceof WireError && !(error instanceof BgpMessageError)) {
      const [code, subcode] = UNSPECIFIC_FAULT[type];
      throw new BgpMessageError(code, subcode, `malformed type ${type} message: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

const TYPE_OF: Readonly<Record<BgpMessage['type'], MessageType>> = {
  open: MessageType.OPEN,
  update: MessageType.UPDATE,
  notification: MessageType.NOTIFICATION,
  keepalive: MessageType.KEEPALIVE,
  'route-refresh': MessageType.ROUTE_REFRESH,
};

/**
 * Encodes a message, header included. Throws a WireError (TOO_LARGE) if it would
 * exceed 4096 octets; split UPDATEs with `packUpdates` first.
 */
export function encodeMessage(message: BgpMessage, ctx: CodecContext = INITIAL_CODEC_CONTEXT): Buffer {
  const w = new Writer(message.type === 'update' ? 512 : 64, MAX_MESSAGE_LENGTH);
  w.bytes(Buffer.alloc(MARKER_LENGTH, 0xff));
  const length = w.reserve(2);
  w.u8(TYPE_OF[message.type]);
  switch (message.type) {
    case 'open':
      encodeOpenBody(w, message);
      break;
    case 'update':
      encodeUpdateBody(w, message, ctx);
      break;
    case 'notification':
      w.u8(message.errorCode).u8(message.errorSubcode).bytes(message.data);
      break;
    case 'keepalive':
      break;
    case 'route-refresh':
      w.u16(message.afi).u8(message.subtype).u8(message.safi);
      break;
  }
  w.patch(length, w.length);
  return w.finish();
}

export function notificationFrom(error: { errorCode: number; errorSubcode: number; data: Buffer }): NotificationMessage {
  return { type: 'notification', errorCode: error.errorCode, errorSubcode: error.errorSubcode, data: error.data };
}
