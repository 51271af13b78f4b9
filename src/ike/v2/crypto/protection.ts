/**
 * The Encrypted (SK) payload of one IKE SA (RFC 7296 §3.14; AES-GCM: RFC 5282).
 *
 *   CBC + HMAC  IV random (16 octets); ICV = HMAC over the message from the IKE header through
 *               the Pad Length, truncated (§3.14)
 *   AES-GCM     IV = 8-octet counter per sending key, never repeated (RFC 5282 §3.1);
 *               AAD = IKE header | SK generic header (RFC 5282 §5.1); no separate ICV key
 *
 * Keys by direction: the original initiator of the IKE SA sends with SK_ei/SK_ai and receives
 * with SK_er/SK_ar; the responder the other way round (§2.14), whatever the exchange.
 *
 * unprotect() throws UnauthenticatedMessageError for anything found before the message is
 * authenticated (short body, ICV mismatch): the caller drops it and the SA is unaffected.
 * Problems found after authentication (padding, inner payload chain, unknown critical
 * payload) are thrown as the wire layer's errors: the message is genuine but malformed.
 */
import { decrypt, encrypt } from '../../../crypto/cipher.js';
import { DecryptError } from '../../../crypto/errors.js';
import { computeIcv, verifyIcv } from '../../../crypto/integrity.js';
import { encryptionByName, integrityByName } from '../../../crypto/transforms.js';
import type { RandomSource } from '../../runtime.js';
import { WireError } from '../wire/errors.js';
import type { IkeHeaderFields } from '../wire/header.js';
import {
  decodeInnerPayloads,
  encodeInnerPayloads,
  frameEncryptedMessage,
  integrityParts,
  padPlaintext,
  splitSkBody,
  unpadPlaintext,
  type DecodedMessage,
} from '../wire/message.js';
import type { Payload } from '../wire/payloads.js';
import { UnauthenticatedMessageError } from '../../errors.js';
import type { IkeSuite } from '../../proposals/suites.js';
import type { IkeKeys } from './keys.js';

interface DirectionKeys {
  readonly enc: Buffer;
  readonly integ: Buffer;
}

export class SkProtection {
  readonly #suite: IkeSuite;
  readonly #out: DirectionKeys;
  readonly #in: DirectionKeys;
  readonly #random: RandomSource;
  /** Next AES-GCM IV for our sending key (RFC 5282 §3.1: must never repeat under one key). */
  #gcmCounter = 1n;

  constructor(suite: IkeSuite, keys: IkeKeys, originalInitiator: boolean, random: RandomSource) {
    this.#suite = suite;
    const i = { enc: keys.skEi, integ: keys.skAi };
    const r = { enc: keys.skEr, integ: keys.skAr };
    this.#out = originalInitiator ? i : r;
    this.#in = originalInitiator ? r : i;
    this.#random = random;
  }

  /** HDR | SK { payloads } ready to send. */
  protect(header: IkeHeaderFields, payloads: readonly Payload[]): Buffer {
    const t = encryptionByName(this.#suite.encryption);
    const { firstType, bytes } = encodeInnerPayloads(payloads);
    if (t.aead) {
      const padded = padPlaintext(bytes, t.blockBytes);
      const frame = frameEncryptedMessage({
        header,
        firstInnerType: firstType,
        ivLength: t.ivBytes,
        ciphertextLength: padded.length,
        icvLength: t.icvBytes,
      });
      const iv = Buffer.alloc(t.ivBytes);
      iv.writeBigUInt64BE(this.#gcmCounter);
      this.#gcmCounter += 1n;
      const sealed = encrypt(t.name, this.#out.enc, iv, padded, frame.associatedData);
      iv.copy(frame.iv);
      sealed.copy(frame.ciphertext, 0, 0, padded.length);
      sealed.copy(frame.icv, 0, padded.length);
      return frame.message;
    }
    const integrity = this.#integrity();
    const padded = padPlaintext(bytes, t.blockBytes);
    const frame = frameEncryptedMessage({
      header,
      firstInnerType: firstType,
      ivLength: t.ivBytes,
      ciphertextLength: padded.length,
      icvLength: integrityByName(integrity).icvBytes,
    });
    const iv = this.#random.bytes(t.ivBytes);
    iv.copy(frame.iv);
    encrypt(t.name, this.#out.enc, iv, padded).copy(frame.ciphertext);
    computeIcv(integrity, this.#out.integ, frame.integrityCovered).copy(frame.icv);
    return frame.message;
  }

  /** Verifies and decrypts the SK payload of a received message and decodes what it holds. */
  unprotect(datagram: Buffer, message: DecodedMessage): Payload[] {
    const section = message.encrypted;
    if (!section || section.payload.kind !== 'SK') {
      throw new UnauthenticatedMessageError('no SK payload (fragments are not supported)');
    }
    const t = encryptionByName(this.#suite.encryption);
    let plaintext: Buffer;
    if (t.aead) {
      let sealed: Buffer;
      let iv: Buffer;
      try {
        const parts = splitSkBody(section.payload.body, t.ivBytes, t.icvBytes);
        iv = parts.iv;
        sealed = section.payload.body.subarray(t.ivBytes);
      } catch (error) {
        throw new UnauthenticatedMessageError(`SK body unusable: ${describe(error)}`);
      }
      try {
        plaintext = decrypt(t.name, this.#in.enc, iv, sealed, section.associatedData);
      } catch (error) {
        if (error instanceof DecryptError) throw new UnauthenticatedMessageError('AEAD tag mismatch');
        throw new UnauthenticatedMessageError(`SK payload unusable: ${describe(error)}`);
      }
    } else {
      const integrity = this.#integrity();
      const icvBytes = integrityByName(integrity).icvBytes;
      let covered: Buffer;
      let icv: Buffer;
      try {
        ({ covered, icv } = integrityParts(datagram, icvBytes));
      } catch (error) {
        throw new UnauthenticatedMessageError(`message too short for its ICV: ${describe(error)}`);
      }
      if (!verifyIcv(integrity, this.#in.integ, covered, icv)) throw new UnauthenticatedMessageError('ICV mismatch');
      // Authenticated from here on: layout problems are the peer's genuine mistakes.
      const parts = splitSkBody(section.payload.body, t.ivBytes, icvBytes, t.blockBytes);
      plaintext = decrypt(t.name, this.#in.enc, parts.iv, parts.ciphertext);
    }
    return decodeInnerPayloads(section.payload.firstInnerType, unpadPlaintext(plaintext));
  }

  #integrity(): NonNullable<IkeSuite['integrity']> {
    const integrity = this.#suite.integrity;
    if (integrity === undefined) throw new WireError('BAD_VALUE', 'non-AEAD suite without integrity');
    return integrity;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown error';
}
