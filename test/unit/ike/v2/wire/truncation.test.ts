/**
 * Split and truncation, in the manner of pg-protocol's "split at every byte offset" test: every
 * prefix of a valid message must fail with a typed WireError (never RangeError/TypeError, never a
 * hang), with the header Length left as sent and with it patched to match the prefix so the
 * payload parsers themselves meet the short data.
 */
import { describe, expect, it } from 'vitest';
import {
  ExchangeType,
  WireError,
  decodeInnerPayloads,
  decodeMessage,
  encodeInnerPayloads,
  encodeMessage,
} from '../../../../../src/ike/v2/wire/index.js';
import { everyInnerPayload, header, ikeAuthRequest, ikeSaInitRequest } from './fixtures.js';

function expectWireError(fn: () => unknown, where: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof WireError)) {
    throw new Error(`${where}: expected WireError, got ${caught === undefined ? 'success' : String(caught)}`);
  }
}

const samples: Record<string, Buffer> = {
  'IKE_SA_INIT request': ikeSaInitRequest(),
  'IKE_AUTH request (SK)': ikeAuthRequest().datagram,
  'every payload kind, unencrypted': encodeMessage({ header: header(ExchangeType.INFORMATIONAL), payloads: everyInnerPayload }),
};

describe('truncation at every byte offset', () => {
  for (const [name, datagram] of Object.entries(samples)) {
    it(`${name}: every prefix is a WireError (header Length as sent)`, () => {
      expect(() => decodeMessage(datagram)).not.toThrow();
      for (let cut = 0; cut < datagram.length; cut++) {
        expectWireError(() => decodeMessage(datagram.subarray(0, cut)), `${name} cut at ${cut}`);
      }
    });

    it(`${name}: every prefix is a WireError (header Length patched to the prefix)`, () => {
      for (let cut = 28; cut < datagram.length; cut++) {
        const prefix = Buffer.from(datagram.subarray(0, cut));
        prefix.writeUInt32BE(cut, 24);
        expectWireError(() => decodeMessage(prefix), `${name} patched cut at ${cut}`);
      }
    });

    it(`${name}: split in two at every offset, neither half decodes, the whole does`, () => {
      for (let at = 1; at < datagram.length; at++) {
        expectWireError(() => decodeMessage(datagram.subarray(0, at)), `${name} head ${at}`);
        expectWireError(() => decodeMessage(datagram.subarray(at)), `${name} tail ${at}`);
      }
      expect(decodeMessage(Buffer.concat([datagram.subarray(0, 10), datagram.subarray(10)])).header.length).toBe(datagram.length);
    });
  }

  it('inner (decrypted) chains: every prefix is a WireError', () => {
    const { firstType, bytes } = encodeInnerPayloads(everyInnerPayload);
    for (let cut = 0; cut < bytes.length; cut++) {
      expectWireError(() => decodeInnerPayloads(firstType, bytes.subarray(0, cut)), `inner cut at ${cut}`);
    }
  });

  it('two messages glued together are rejected (one datagram, one message)', () => {
    const one = ikeSaInitRequest();
    expectWireError(() => decodeMessage(Buffer.concat([one, one])), 'concatenated');
  });
});
