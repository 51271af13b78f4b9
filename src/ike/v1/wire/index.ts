/** The IKEv1 wire layer: header, payloads, SA structures, data attributes, per-message rules. */
export * from './header.js';
export * from './attributes.js';
export * from './sa.js';
export * from './payloads.js';
export * from './message.js';
export * from './rules.js';
