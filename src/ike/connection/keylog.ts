/**
 * Derived keys as given to the optional keylog callback (the lab's key comparison, decrypting
 * captures): never logged by cgwd itself.
 */
import { constants as fsConstants, fchmodSync, openSync } from 'node:fs';
import { CgwdError } from '../../errors.js';
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

/** A key log file that cannot be opened safely: it exists already, is a link, or cannot be created. */
export class KeylogFileError extends CgwdError {
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('KEYLOG_FILE_REFUSED', `key log ${file}: ${reason}`, options);
  }
}

/**
 * Opens a new key log for writing: created here (O_CREAT | O_EXCL, so never an existing file,
 * whoever made it, and never through a symbolic link in the last component: O_NOFOLLOW), mode
 * 0600 whatever the umask. Returns the descriptor.
 */
export function openKeylogFile(file: string): number {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fsConstants; // libuv adds O_CLOEXEC itself
  let fd: number;
  try {
    fd = openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EEXIST' ? 'exists already (cgwd writes keys only to a file it creates)' : code === 'ELOOP' ? 'is a symbolic link' : `cannot be created (${code ?? 'error'})`;
    throw new KeylogFileError(file, reason, { cause: error });
  }
  fchmodSync(fd, 0o600);
  return fd;
}
