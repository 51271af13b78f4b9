import { inspect } from 'node:util';

export const REDACTED = '<redacted>';

/**
 * A secret string (a PSK). Every way of turning it into text — String(),
 * template literals, JSON.stringify, util.inspect, console.log — prints
 * "<redacted>"; only reveal() gives the value, so a reveal() call marks each
 * place that really needs it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  /** Compares two secrets without exposing either. */
  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** "********" plus the length, for status output. */
export function maskSecret(secret: Secret): { masked: string; length: number } {
  return { masked: '********', length: secret.length };
}
