/**
 * Base of every error cgwd raises on purpose. `code` is stable (tests and
 * callers match on it); `message` is for people and never contains a secret.
 */
export class CgwdError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
