/**
 * The IKEv2 responder's COOKIEs (RFC 7296 §2.6):
 *
 *   Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
 *
 * with a 4-byte version and SHA-256. The secret is replaced every COOKIE_SECRET_LIFETIME_MS
 * (lazily, on use); a cookie made with the secret just replaced is still accepted for one more
 * lifetime, as §2.6 suggests, so an initiator caught by a rotation is not refused. Offered
 * cookies are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { addressBytes } from '../ip-address.js';
import type { Clock, RandomSource } from '../runtime.js';

export const COOKIE_SECRET_LIFETIME_MS = 5 * 60_000;
const SECRET_BYTES = 32;
const VERSION_BYTES = 4;

interface CookieSecret {
  readonly version: number;
  readonly secret: Buffer;
  readonly createdAt: number;
}

export function computeCookie(secret: Buffer, version: number, nonce: Buffer, address: string, spiI: Buffer): Buffer {
  const digest = createHash('sha256').update(nonce).update(addressBytes(address)).update(spiI).update(secret).digest();
  const head = Buffer.alloc(VERSION_BYTES);
  head.writeUInt32BE(version >>> 0, 0);
  return Buffer.concat([head, digest]);
}

export class CookieJar {
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #lifetimeMs: number;
  #current: CookieSecret;
  #previous: CookieSecret | undefined;

  constructor(clock: Clock, random: RandomSource, lifetimeMs = COOKIE_SECRET_LIFETIME_MS) {
    this.#clock = clock;
    this.#random = random;
    this.#lifetimeMs = lifetimeMs;
    this.#current = { version: 1, secret: random.bytes(SECRET_BYTES), createdAt: clock.now() };
  }

  /** The version of the secret cookies are made with now (tests, status). */
  get version(): number {
    this.#rotateIfDue();
    return this.#current.version;
  }

  cookieFor(nonce: Buffer, address: string, spiI: Buffer): Buffer {
    this.#rotateIfDue();
    return computeCookie(this.#current.secret, this.#current.version, nonce, address, spiI);
  }

  /** True when `offered` is this initiator's cookie under the current or the just-replaced secret. */
  accepts(offered: Buffer, nonce: Buffer, address: string, spiI: Buffer): boolean {
    this.#rotateIfDue();
    if (offered.length !== VERSION_BYTES + 32) return false;
    const version = offered.readUInt32BE(0);
    const secret = [this.#current, this.#previous].find((s) => s !== undefined && s.version === version);
    if (!secret) return false;
    return timingSafeEqual(offered, computeCookie(secret.secret, secret.version, nonce, address, spiI));
  }

  #rotateIfDue(): void {
    const now = this.#clock.now();
    if (now - this.#current.createdAt < this.#lifetimeMs) return;
    const old = this.#current.secret;
    // A secret older than two lifetimes is of no use any more: zero it.
    if (this.#previous) this.#previous.secret.fill(0);
    this.#previous = now - this.#current.createdAt < 2 * this.#lifetimeMs ? this.#current : undefined;
    if (!this.#previous) old.fill(0);
    this.#current = { version: (this.#current.version + 1) >>> 0, secret: this.#random.bytes(SECRET_BYTES), createdAt: now };
  }
}
