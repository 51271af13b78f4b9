/**
 * Encryption of ISAKMP messages after the key exchange (RFC 2408 §3.1 E flag, RFC 2409
 * Appendix B): AES-CBC over everything after the header, zero-padded to the block size, no
 * integrity transform (the HASH payloads authenticate).
 *
 * IVs chain per exchange: each message's IV is the last ciphertext block of the previous message
 * of the same exchange (Message ID). Main Mode (ID 0) starts from hash(g^xi | g^xr); every other
 * exchange starts from hash(last phase 1 block | M-ID). `IvChains` keeps those chains; a
 * received message's IV is only committed after it decrypted and authenticated, so garbage or a
 * forgery never desynchronises the chain.
 */
import { decrypt, encrypt } from '../../../crypto/cipher.js';
import { encryptionByName, type EncryptionName, type IntegrityName } from '../../../crypto/transforms.js';
import { V1WireErrorCode, v1WireError } from '../wire/errors.js';
import { exchangeIv } from './keys.js';

/** Exchanges (Message IDs) whose IV chains are kept at once; older ones are forgotten (strongSwan keeps 3). */
const MAX_CHAINS = 32;

export class IvChains {
  readonly blockBytes: number;
  readonly #integrity: IntegrityName;
  /** The Main Mode chain (Message ID 0); after MM6 its value is the "last phase 1 CBC block". */
  #phase1: Buffer;
  readonly #chains = new Map<number, Buffer>();

  constructor(integrity: IntegrityName, initial: Buffer) {
    this.#integrity = integrity;
    this.blockBytes = initial.length;
    this.#phase1 = Buffer.from(initial);
  }

  ivFor(messageId: number): Buffer {
    if (messageId === 0) return this.#phase1;
    return this.#chains.get(messageId) ?? exchangeIv(this.#integrity, this.#phase1, messageId, this.blockBytes);
  }

  /** After a message of `messageId` was sent or accepted: its last ciphertext block is the next IV. */
  advance(messageId: number, ciphertext: Buffer): void {
    const last = Buffer.from(ciphertext.subarray(ciphertext.length - this.blockBytes));
    if (messageId === 0) {
      this.#phase1 = last;
      return;
    }
    this.#chains.delete(messageId);
    this.#chains.set(messageId, last);
    if (this.#chains.size > MAX_CHAINS) {
      const oldest = this.#chains.keys().next().value;
      if (oldest !== undefined) this.#chains.delete(oldest);
    }
  }

  forget(messageId: number): void {
    this.#chains.delete(messageId);
  }
}

export class MessageProtection {
  readonly #encryption: EncryptionName;
  readonly #key: Buffer;
  readonly chains: IvChains;

  constructor(encryption: EncryptionName, key: Buffer, chains: IvChains) {
    if (encryptionByName(encryption).aead) throw new Error(`${encryption} cannot protect an ISAKMP SA`);
    this.#encryption = encryption;
    this.#key = key;
    this.chains = chains;
  }

  get blockBytes(): number {
    return this.chains.blockBytes;
  }

  /** Pads with zeros and encrypts with the exchange's current IV; the chain advances. */
  seal(messageId: number, plaintext: Buffer): Buffer {
    const block = this.blockBytes;
    const padded = plaintext.length % block === 0 ? plaintext : Buffer.concat([plaintext, Buffer.alloc(block - (plaintext.length % block))]);
    const ciphertext = encrypt(this.#encryption, this.#key, this.chains.ivFor(messageId), padded);
    this.chains.advance(messageId, ciphertext);
    return ciphertext;
  }

  /**
   * Decrypts with the exchange's current IV without committing; call `commit()` once the
   * message authenticated. Throws BAD_ENCRYPTED_LENGTH for a body that is not whole blocks.
   */
  open(messageId: number, ciphertext: Buffer): { plaintext: Buffer; commit: () => void } {
    if (ciphertext.length === 0 || ciphertext.length % this.blockBytes !== 0) {
      throw v1WireError(V1WireErrorCode.BAD_ENCRYPTED_LENGTH, `encrypted body of ${ciphertext.length} bytes`, 28);
    }
    const plaintext = decrypt(this.#encryption, this.#key, this.chains.ivFor(messageId), ciphertext);
    return { plaintext, commit: () => this.chains.advance(messageId, ciphertext) };
  }
}
