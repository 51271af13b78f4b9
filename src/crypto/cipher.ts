/**
 * Encryption transforms, shaped for both users: the IKEv2 Encrypted payload
 * (RFC 7296 §3.14; RFC 5282 for AES-GCM in IKEv2) and ESP (RFC 4303; RFC 3602
 * AES-CBC, RFC 4106 AES-GCM). Both send IV | ciphertext [| ICV] and pad the
 * plaintext themselves, each by its own rule, so nothing here pads.
 *
 *   AES-CBC    keyMaterial = key (16/32 bytes); iv = 16 bytes;
 *              plaintext a whole number of 16-byte blocks; no AAD.
 *   AES-GCM-16 keyMaterial = key | salt (16/32 + 4 bytes, RFC 4106 §8.1,
 *              RFC 5282 §7.1); iv = the 8-byte explicit IV from the packet;
 *              nonce = salt | iv (RFC 4106 §4); output = ciphertext | 16-byte ICV.
 *
 * The IV must never repeat under one GCM key (RFC 4106 §3.1, RFC 5282 §3.1);
 * choosing it (a counter, the message ID) is the caller's job.
 */
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';
import { CipherInputError, DecryptError, KeyLengthError } from './errors.js';
import { encryptionByName, type EncryptionName, type EncryptionTransform } from './transforms.js';

/** Bytes of key material the key schedule must supply: key, plus salt for GCM. */
export function keyMaterialBytes(name: EncryptionName): number {
  const t = encryptionByName(name);
  return t.keyBits / 8 + t.saltBytes;
}

export function encrypt(
  name: EncryptionName,
  keyMaterial: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  const t = checkedTransform(name, keyMaterial, iv);
  if (t.aead) {
    const { key, nonce } = gcmKeyAndNonce(t, keyMaterial, iv);
    const cipher = createCipheriv(gcmCipherName(t), key, nonce, { authTagLength: t.icvBytes });
    if (aad) cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([body, cipher.getAuthTag()]);
  }
  checkCbcInput(t, plaintext, 'plaintext', aad);
  const cipher = createCipheriv(t.nodeCipher, keyMaterial, iv).setAutoPadding(false);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

/** Inverse of `encrypt`. For GCM `ciphertext` ends with the ICV; a mismatch throws DecryptError. */
export function decrypt(
  name: EncryptionName,
  keyMaterial: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  const t = checkedTransform(name, keyMaterial, iv);
  if (t.aead) {
    if (ciphertext.length < t.icvBytes) {
      throw new CipherInputError(`${name} ciphertext of ${ciphertext.length} bytes is shorter than its ${t.icvBytes}-byte ICV`);
    }
    const { key, nonce } = gcmKeyAndNonce(t, keyMaterial, iv);
    const bodyLength = ciphertext.length - t.icvBytes;
    const decipher = createDecipheriv(gcmCipherName(t), key, nonce, { authTagLength: t.icvBytes });
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (aad) decipher.setAAD(aad);
    const body = decipher.update(ciphertext.subarray(0, bodyLength));
    try {
      return Buffer.concat([body, decipher.final()]);
    } catch {
      body.fill(0);
      throw new DecryptError(name);
    }
  }
  checkCbcInput(t, ciphertext, 'ciphertext', aad);
  const decipher = createDecipheriv(t.nodeCipher, keyMaterial, iv).setAutoPadding(false);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

function checkedTransform(name: EncryptionName, keyMaterial: Uint8Array, iv: Uint8Array): EncryptionTransform {
  const t = encryptionByName(name);
  const expectedKeyBytes = t.keyBits / 8 + t.saltBytes;
  if (keyMaterial.length !== expectedKeyBytes) throw new KeyLengthError(name, expectedKeyBytes, keyMaterial.length);
  if (iv.length !== t.ivBytes) throw new CipherInputError(`${name} IV must be ${t.ivBytes} bytes, got ${iv.length}`);
  return t;
}

function checkCbcInput(t: EncryptionTransform, data: Uint8Array, what: string, aad: Uint8Array | undefined): void {
  if (data.length % t.blockBytes !== 0) {
    throw new CipherInputError(`${t.name} ${what} of ${data.length} bytes is not a whole number of ${t.blockBytes}-byte blocks`);
  }
  if (aad && aad.length > 0) {
    throw new CipherInputError(`${t.name} takes no associated data; the integrity transform covers it`);
  }
}

function gcmKeyAndNonce(t: EncryptionTransform, keyMaterial: Uint8Array, iv: Uint8Array): { key: Uint8Array; nonce: Buffer } {
  const keyBytes = t.keyBits / 8;
  const salt = keyMaterial.subarray(keyBytes, keyBytes + t.saltBytes);
  return { key: keyMaterial.subarray(0, keyBytes), nonce: Buffer.concat([salt, iv]) };
}

function gcmCipherName(t: EncryptionTransform): CipherGCMTypes {
  const name = t.nodeCipher;
  if (name === 'aes-128-gcm' || name === 'aes-256-gcm') return name;
  throw new CipherInputError(`${t.name} is not an AES-GCM transform`);
}
