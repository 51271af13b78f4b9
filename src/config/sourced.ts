import type { SettingOrigin } from './model.js';

/** A value read from the input together with where it came from, for messages and for `cgwd show`. */
export interface Sourced<T> {
  readonly value: T;
  readonly path: string;
  readonly origin: SettingOrigin;
}

export function sourced<T>(value: T, path: string, origin: SettingOrigin): Sourced<T> {
  return { value, path, origin };
}

/** First of: what TunnelOptions said, what the XML said, the AWS default. */
export function firstOf<T>(...candidates: (Sourced<T> | undefined)[]): Sourced<T> | undefined {
  return candidates.find((c) => c !== undefined);
}
