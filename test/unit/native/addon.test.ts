import { describe, expect, it } from 'vitest';
import { loadDataplane } from '../../../src/native/addon.js';

describe('native data-plane addon (skeleton)', () => {
  it('loads and links the OpenSSL that Node ships', () => {
    const addon = loadDataplane();
    expect(addon.abiVersion()).toBe(1);
    // Same library, not a second copy: the version string carries Node's OpenSSL version.
    expect(addon.opensslVersion()).toContain(`OpenSSL ${process.versions.openssl.replace(/\+.*$/, '')}`);
  });
});
