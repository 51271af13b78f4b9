/**
 * The daemon picks IKEv1 or IKEv2 per tunnel with no other change (src/tunnel/ike-pair.ts): the
 * IKEv1 connection takes the same options and offers the same public surface, events and status.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { IkeConnection, IkeConnectionOptions } from '../../../../src/ike/index.js';
import { IkeV1Connection } from '../../../../src/ike/v1/index.js';
import { IkeV2Connection } from '../../../../src/ike/v2/index.js';
import { Pair } from '../harness/pair.js';

type Surface = Pick<IkeConnection, 'start' | 'stop' | 'handleDatagram' | 'status' | 'state' | 'noteInboundActivity' | 'rekeyChild' | 'rekeyIke' | 'deleteChild' | 'deleteIke' | 'childSaExhausting'>;

/** How the daemon holds either: as the one declared IkeConnection interface. */
function wire(c: IkeConnection, seen: string[]): void {
  c.on('ike-up', (e) => seen.push(`ike-up ${e.spiI}`));
  c.on('child-up', (e) => seen.push(`child-up ${e.id}`));
  c.once('ike-down', (e) => seen.push(e.code));
}

describe('the IKEv1 connection in place of the IKEv2 one', () => {
  it('takes IkeConnectionOptions and is assignable to the IkeConnection surface', () => {
    expectTypeOf<ConstructorParameters<typeof IkeV1Connection>[0]>().toEqualTypeOf<IkeConnectionOptions>();
    expectTypeOf<ConstructorParameters<typeof IkeV2Connection>[0]>().toEqualTypeOf<IkeConnectionOptions>();
    const asSurface = (c: IkeV1Connection): Surface => c; // compiles only if assignable
    expect(typeof asSurface).toBe('function');
    expectTypeOf<IkeV1Connection>().toExtend<IkeConnection>();
    expectTypeOf<IkeV2Connection>().toExtend<IkeConnection>();
    const pair = new Pair('ikev1');
    const seen: string[] = [];
    wire(pair.cgw.connection, seen);
    pair.establish();
    expect(seen).toEqual([expect.stringMatching(/^ike-up /), 'child-up 1']);
    expectTypeOf<ReturnType<IkeV1Connection['status']>>().toEqualTypeOf<ReturnType<IkeConnection['status']>>();
    expectTypeOf<ReturnType<IkeV1Connection['status']>>().toEqualTypeOf<ReturnType<IkeV2Connection['status']>>();
  });

  it('the status shape names IKEv1 things in IKEv2 fields, and never a key', () => {
    const pair = new Pair('ikev1').establish();
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
