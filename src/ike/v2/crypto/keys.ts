/**
 * IKEv2 key schedule (RFC 7296 §2.13–§2.18). Pure functions; callers hold the results.
 *
 *   IKE SA (§2.14)      SKEYSEED = prf(Ni | Nr, g^ir)
 *                       {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *                           = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
 *   IKE SA rekey (§2.18) SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the PRF of the
 *                       old SA (as strongSwan does); then prf+ as above with the new PRF, the
 *                       rekey exchange's nonces and the new SPIs
 *   CHILD SA (§2.17)    KEYMAT = prf+ (SK_d, [g^ir (new) |] Ni | Nr), taken in the order
 *                       encr-i | integ-i | encr-r | integ-r ("i" = from the initiator of the
 *                       exchange that created the SA)
 *
 * Lengths: SK_d, SK_pi, SK_pr are the PRF's preferred key length (its output length, §2.13);
 * SK_a* the integrity key length and none for AEAD (RFC 5282 §7.1); SK_e* and ESP encryption
 * keys the cipher key plus, for AES-GCM, the 4-byte salt (RFC 5282 §7.1, RFC 4106 §8.1).
 * With HMAC PRFs the PRF key is all of Ni | Nr (the half-and-half rule of §2.14 applies only to
 * fixed-key-size PRFs, which cgwd does not offer).
 */
import { keyMaterialBytes } from '../../../crypto/cipher.js';
import { prf, prfPlus } from '../../../crypto/prf.js';
import { integrityByName, prfByName, type PrfName } from '../../../crypto/transforms.js';
import type { IkeSaKeys } from '../../connection/keylog.js';
import type { ChildSuite, IkeSuite } from '../../proposals/suites.js';

/** SK_d, SK_ai/ar, SK_ei/er, SK_pi/pr (§2.14), in the shape the keylog shares with IKEv1. */
export type IkeKeys = IkeSaKeys;

export interface ChildKeys {
  /** Protects traffic from the exchange initiator to the responder. */
  readonly encI: Buffer;
  readonly integI: Buffer | undefined;
  /** Protects traffic from the exchange responder to the initiator. */
  readonly encR: Buffer;
  readonly integR: Buffer | undefined;
}

function integrityKeyBytes(suite: { readonly integrity?: IkeSuite['integrity'] }): number {
  return suite.integrity === undefined ? 0 : integrityByName(suite.integrity).keyBytes;
}

/** SKEYSEED for a new IKE SA from IKE_SA_INIT (§2.14). */
export function initialSkeyseed(prfName: PrfName, ni: Buffer, nr: Buffer, sharedSecret: Buffer): Buffer {
  return prf(prfName, Buffer.concat([ni, nr]), sharedSecret);
}

/** SKEYSEED for the IKE SA that replaces an old one (§2.18), keyed with the old SK_d under the old PRF. */
export function rekeySkeyseed(oldPrf: PrfName, oldSkD: Buffer, sharedSecret: Buffer, ni: Buffer, nr: Buffer): Buffer {
  return prf(oldPrf, oldSkD, [sharedSecret, ni, nr]);
}

/** The seven IKE SA keys from SKEYSEED (§2.14). */
export function expandIkeKeys(suite: IkeSuite, skeyseed: Buffer, ni: Buffer, nr: Buffer, spiI: Buffer, spiR: Buffer): IkeKeys {
  const prfBytes = prfByName(suite.prf).outputBytes;
  const integBytes = integrityKeyBytes(suite);
  const encBytes = keyMaterialBytes(suite.encryption);
  const lengths = [prfBytes, integBytes, integBytes, encBytes, encBytes, prfBytes, prfBytes];
  const total = lengths.reduce((a, b) => a + b, 0);
  const stream = prfPlus(suite.prf, skeyseed, [ni, nr, spiI, spiR], total);
  const keys: Buffer[] = [];
  let offset = 0;
  for (const length of lengths) {
    keys.push(Buffer.from(stream.subarray(offset, offset + length)));
    offset += length;
  }
  const [skD, skAi, skAr, skEi, skEr, skPi, skPr] = keys as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  return { skD, skAi, skAr, skEi, skEr, skPi, skPr };
}

/** CHILD SA keys (§2.17). `sharedSecret` only when the exchange carried KE payloads (PFS). */
export function deriveChildKeys(
  prfName: PrfName,
  skD: Buffer,
  suite: ChildSuite,
  ni: Buffer,
  nr: Buffer,
  sharedSecret?: Buffer,
): ChildKeys {
  const encBytes = keyMaterialBytes(suite.encryption);
  const integBytes = integrityKeyBytes(suite);
  const seed = sharedSecret ? [sharedSecret, ni, nr] : [ni, nr];
  const stream = prfPlus(prfName, skD, seed, 2 * (encBytes + integBytes));
  let offset = 0;
  const take = (n: number): Buffer => {
    const out = Buffer.from(stream.subarray(offset, offset + n));
    offset += n;
    return out;
  };
  const encI = take(encBytes);
  const integI = integBytes > 0 ? take(integBytes) : undefined;
  const encR = take(encBytes);
  const integR = integBytes > 0 ? take(integBytes) : undefined;
  return { encI, integI, encR, integR };
}
