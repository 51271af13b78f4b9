/** IKEv2 wire layer: bounded codecs, message framing around SK, and per-exchange payload rules. */
export * from '../../../wire/buffer.js';
export * from './constants.js';
export * from './errors.js';
export * from './sa.js';
export * from './traffic-selectors.js';
export * from './payloads.js';
export * from './message.js'; // also re-exports header.js and the SK helpers of encrypted.js
export * from './rules.js';
