/**
 * Derived keys as given to the optional keylog callback (the lab's key comparison, decrypting
 * captures): never logged by cgwd itself.
 */
import type { ChildSaInstall } from '../runtime.js';
import type { IkeSuite } from '../proposals/suites.js';

/**
 * The IKE SA's keys in IKEv2's names (RFC 7296 §2.14). IKEv1 fills them from its own key
 * schedule (RFC 2409 §5): SK_d = SKEYID_d, SK_a* = SKEYID_a, SK_e* = the encryption key,
 * SK_p* = SKEYID.
 */
export interface IkeSaKeys {
  readonly skD: Buffer;
  readonly skAi: Buffer;
  readonly skAr: Buffer;
  readonly skEi: Buffer;
  readonly skEr: Buffer;
  readonly skPi: Buffer;
  readonly skPr: Buffer;
}

export type KeylogEntry =
  | {
      readonly kind: 'ike';
      readonly spiI: string;
      readonly spiR: string;
      readonly originalInitiator: boolean;
      readonly suite: IkeSuite;
      readonly keys: IkeSaKeys;
    }
  | { readonly kind: 'child'; readonly install: ChildSaInstall };
