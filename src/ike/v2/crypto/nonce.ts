/**
 * Nonce comparison for rekey collisions (RFC 7296 §2.8.1): "'Lowest' means an octet-by-octet
 * comparison (instead of, for instance, comparing the nonces as large integers) ... If you
 * reach the end of one nonce, that nonce is the lower one." Buffer.compare does exactly that.
 */

/** Nonce length cgwd sends: ≥ 16 and ≥ half the largest PRF key (SHA-512: 64), RFC 7296 §2.10. */
export const NONCE_LENGTH = 32;

export function lowestNonce(nonces: readonly Buffer[]): Buffer {
  const [first, ...rest] = nonces;
  if (!first) throw new Error('no nonces');
  return rest.reduce((low, n) => (Buffer.compare(n, low) < 0 ? n : low), first);
}

/**
 * Of two colliding exchanges, true when the one made of `ours` holds the lowest of the four
 * nonces, i.e. the SA it created is the redundant one and its initiator (us) deletes it.
 */
export function ourExchangeLoses(ours: readonly [Buffer, Buffer], theirs: readonly [Buffer, Buffer]): boolean {
  const low = lowestNonce([...ours, ...theirs]);
  return ours.some((n) => n === low);
}
