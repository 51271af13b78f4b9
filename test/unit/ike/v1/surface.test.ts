/**
 * The daemon picks IKEv1 or IKEv2 per tunnel with no other change (src/tunnel/ike-pair.ts): the
 * IKEv1 connection takes the same options and offers the same public surface, events and status.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { IkeV1Connection } from '../../../../src/ike/v1/index.js';
import type { IkeConnection, IkeConnectionOptions } from '../../../../src/ike/v2/index.js';
import { Pair } from './harness/pair.js';

type Surface = Pick<IkeConnection, 'start' | 'stop' | 'handleDatagram' | 'status' | 'state' | 'on' | 'off' | 'once' | 'noteInboundActivity' | 'rekeyChild' | 'rekeyIke' | 'deleteChild' | 'deleteIke' | 'removeAllListeners'>;

describe('the IKEv1 connection in place of the IKEv2 one', () => {
  it('takes IkeConnectionOptions and is assignable to the IkeConnection surface', () => {
    expectTypeOf<ConstructorParameters<typeof IkeV1Connection>[0]>().toEqualTypeOf<IkeConnectionOptions>();
    const asSurface = (c: IkeV1Connection): Surface => c; // compiles only if assignable
    expect(typeof asSurface).toBe('function');
    expectTypeOf<ReturnType<IkeV1Connection['status']>>().toEqualTypeOf<ReturnType<IkeConnection['status']>>();
  });

  it('the status shape names IKEv1 things in IKEv2 fields, and never a key', () => {
    const pair = new Pair().establish();
    const status = pair.cgw.connection.status();
    expect(status.ikeSas[0]).toMatchObject({ state: 'established', current: true, originalInitiator: true, suite: 'aes128-cbc/hmac-sha1-96/prf-hmac-sha1/dh14' });
    expect(status.ikeSas[0]?.children[0]).toMatchObject({ state: 'installed', installed: true, suite: 'aes128-cbc/hmac-sha1-96/dh14' });
    const text = JSON.stringify(status);
    for (const entry of pair.cgw.keylog) {
      if (entry.kind === 'ike') for (const k of Object.values(entry.keys)) expect(text).not.toContain(k.toString('hex'));
      else expect(text).not.toContain(entry.install.encKeyIn.toString('hex'));
    }
  });
});
