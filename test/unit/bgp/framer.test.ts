/**
 * A TCP stream may be cut anywhere: a stream of messages split at every byte
 * offset, and fed one byte at a time, still decodes to the same messages.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/bgp/codec.js';
import { Origin } from '../../../src/bgp/constants.js';
import { BgpFramer } from '../../../src/bgp/framer.js';
import type { BgpMessage } from '../../../src/bgp/messages.js';
import { buildOpen } from '../../../src/bgp/open.js';

const CTX = { fourOctetAs: true };
const messages: BgpMessage[] = [
  buildOpen({ localAs: 4200000001, bgpIdentifier: 0xa9fe0a02, holdTimeSeconds: 30, gracefulRestart: { restartTimeSeconds: 120 } }),
  { type: 'keepalive' },
  {
    type: 'update',
    withdrawn: ['192.0.2.0/24'],
    attributes: { origin: Origin.IGP, asPath: [{ kind: 'sequence', asns: [64512, 64512] }], nextHop: '169.254.10.1', multiExitDisc: 100 },
    nlri: ['10.0.0.0/16', '10.1.0.0/16'],
  },
  { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 },
  { type: 'keepalive' },
  { type: 'notification', errorCode: 6, errorSubcode: 2, data: Buffer.alloc(0) },
];
const stream = Buffer.concat(messages.map((m) => encodeMessage(m, CTX)));

function decodeChunks(chunks: Buffer[]): BgpMessage[] {
  const framer = new BgpFramer();
  const out: BgpMessage[] = [];
  for (const chunk of chunks) {
    const { frames, error } = framer.push(chunk);
    expect(error).toBeUndefined();
    out.push(...frames.map((f) => decodeMessage(f, CTX)));
  }
  expect(framer.pending).toBe(0);
  return out;
}

describe('stream framing', () => {
  it('the whole stream in one chunk', () => {
    expect(decodeChunks([stream])).toEqual(messages);
  });

  it(`split at every byte offset (${stream.length} splits)`, () => {
    for (let at = 0; at <= stream.length; at++) {
      expect(decodeChunks([stream.subarray(0, at), stream.subarray(at)])).toEqual(messages);
    }
  });

  it('split at every pair of offsets inside the first two messages', () => {
    const limit = encodeMessage(messages[0] as BgpMessage, CTX).length + 19 + 5;
    for (let a = 1; a < limit; a++) {
      for (let b = a; b < limit; b++) {
        expect(decodeChunks([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)])).toEqual(messages);
      }
    }
  });

  it('one byte at a time', () => {
    expect(decodeChunks([...stream].map((byte) => Buffer.from([byte])))).toEqual(messages);
  });

  it('messages before a broken header are still delivered, then the fault; nothing after', () => {
    const broken = Buffer.concat([encodeMessage({ type: 'keepalive' }), Buffer.alloc(19, 0)]);
    const framer = new BgpFramer();
    const result = framer.push(broken);
    expect(result.frames).toHaveLength(1);
    expect(result.error).toMatchObject({ errorCode: 1, errorSubcode: 1 });
    expect(framer.push(encodeMessage({ type: 'keepalive' })).frames).toHaveLength(0);
  });

  it('holds at most one partial message', () => {
    const framer = new BgpFramer();
    framer.push(stream.subarray(0, 30));
    expect(framer.pending).toBe(30);
  });
});
