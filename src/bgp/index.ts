/** BGP for cgwd: wire codec (codec, open, update, framer), the RFC 4271 FSM, and the per-tunnel speaker. */
export * from './constants.js';
export * from './errors.js';
export * from './messages.js';
export * from './prefix.js';
export { BgpFramer, type FramerResult } from './framer.js';
export { checkHeader, decodeMessage, encodeMessage, notificationFrom, INITIAL_CODEC_CONTEXT, type CodecContext } from './codec.js';
export { buildOpen, claimedAs, decodeOpen, formatBgpIdentifier, negotiateSession, type LocalOpenConfig, type NegotiatedSession } from './open.js';
export { asPathLength, decodeUpdate, effectiveAsPath, flattenAsPath, isUsableNextHop, packUpdates, type UpdateCodecContext } from './update.js';
export {
  BgpFsm,
  collisionWinner,
  describeDownReason,
  type BgpState,
  type ConnectionDirection,
  type ConnectionId,
  type DownReason,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmOutput,
  type StateChange,
  type Transition,
} from './fsm.js';
export {
  BgpSpeaker,
  DEFAULT_MAX_RECEIVED_PREFIXES,
  type AdvertiseOptions,
  type BgpSpeakerEvents,
  type BgpSpeakerOptions,
  type BgpSpeakerStatus,
  type BgpStateEvent,
  type LearnedRoute,
  type MessageCounters,
} from './speaker.js';
