import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDataplane } from '../../../src/native/addon.js';
import { loadDataplaneTesting } from '../../helpers/native-testing.js';

const release = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'native', 'build', 'Release');
/** Names only the test bindings (native/src/testing_addon.c) define. */
const testOnly = ['EspSa', 'ReplayWindow', 'checkLifetime', 'setSeqOut', 'tsoSegment', 'finishChecksum', 'fragNeeded'];

describe('native data-plane addon (skeleton)', () => {
  it('loads and links the OpenSSL that Node ships', () => {
    const addon = loadDataplane();
    expect(addon.abiVersion()).toBe(1);
    // Same library, not a second copy: the version string carries Node's OpenSSL version.
    expect(addon.opensslVersion()).toContain(`OpenSSL ${process.versions.openssl.replace(/\+.*$/, '')}`);
  });
});

describe('production addon and testing addon', () => {
  it('the production addon exports the data plane and no test bindings', () => {
    const addon = loadDataplane() as unknown as Record<string, unknown>;
    expect('testing' in addon).toBe(false);
    expect(Object.keys(addon).sort()).toEqual(['Dataplane', 'abiVersion', 'dropReasons', 'opensslVersion', 'routeBatch', 'sendUnixDatagram']);
  });

  it('cgwd_dataplane.node does not even contain the test bindings; cgwd_dataplane_testing.node does', () => {
    const production = readFileSync(path.join(release, 'cgwd_dataplane.node')).toString('latin1');
    const testing = readFileSync(path.join(release, 'cgwd_dataplane_testing.node')).toString('latin1');
    for (const name of testOnly) {
      expect(production.includes(name), `${name} in cgwd_dataplane.node`).toBe(false);
      expect(testing.includes(name), `${name} in cgwd_dataplane_testing.node`).toBe(true);
    }
  });

  it('the testing addon exports the test bindings and no data plane', () => {
    const testing = loadDataplaneTesting() as unknown as Record<string, unknown>;
    expect(Object.keys(testing).sort()).toEqual(['EspSa', 'ReplayWindow', 'espBench', 'ipv4']);
  });
});
