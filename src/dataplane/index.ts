export { Dataplane, DataplaneFaultError } from './dataplane.js';
export {
  ChildSaInvalidError,
  DataplaneAddonError,
  DataplaneClosedError,
  DataplaneConflictError,
  DataplaneError,
  DataplaneNotFoundError,
  DataplaneOptionsError,
  DataplaneSystemError,
} from './errors.js';
export { espPacketLength, maxInnerPacket, mssForMtu, outerDatagramLength, type EspSuite } from './mtu.js';
export { describeSa, toNativeSa, MAX_REPLAY_WINDOW } from './validate.js';
export * from './types.js';
