export * from './transforms.js';
export { prf, prfPlus, prfPlusMaxLength } from './prf.js';
export { computeIcv, verifyIcv } from './integrity.js';
export { encrypt, decrypt, keyMaterialBytes } from './cipher.js';
export { DhKeyPair, generateKeyPair, computeSharedSecret, validatePublicValue } from './dh.js';
export type { ByteInput } from './bytes.js';
export {
  PrfPlusLengthError,
  KeyLengthError,
  CipherInputError,
  DecryptError,
  DhInvalidPublicError,
  DhParameterError,
  type DhInvalidPublicReason,
} from './errors.js';
