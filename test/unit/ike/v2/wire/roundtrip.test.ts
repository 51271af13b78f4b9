import { describe, expect, it } from 'vitest';
import {
  ExchangeType,
  PayloadType,
  ProtocolId,
  decodeInnerPayloads,
  decodeMessage,
  encodeInnerPayloads,
  encodeMessage,
  payloadTypeOf,
  type Payload,
} from '../../../../../src/ike/v2/wire/index.js';
import { everyInnerPayload, header, ikeProposal, ikeRekeyProposal, ke, nonce } from './fixtures.js';

function roundTripInner(payloads: readonly Payload[]): Payload[] {
  const { firstType, bytes } = encodeInnerPayloads(payloads);
  return decodeInnerPayloads(firstType, bytes);
}

describe('payload round trips (encode → decode → deep-equal)', () => {
  for (const payload of everyInnerPayload) {
    const name = payload.kind === 'unknown' ? `unknown(${payload.type})` : payload.kind;
    it(`${name} alone`, () => {
      expect(roundTripInner([payload])).toEqual([payload]);
    });
  }

  it('all kinds in one chain keep order and the next-payload chain', () => {
    const decoded = roundTripInner(everyInnerPayload);
    expect(decoded).toEqual(everyInnerPayload);
    const { firstType, bytes } = encodeInnerPayloads(everyInnerPayload);
    expect(firstType).toBe(PayloadType.SA);
    // Walk the generic headers: each Next Payload names the following payload, the last is 0.
    let offset = 0;
    const nextTypes: number[] = [];
    while (offset < bytes.length) {
      nextTypes.push(bytes.readUInt8(offset));
      offset += bytes.readUInt16BE(offset + 2);
    }
    expect(offset).toBe(bytes.length);
    expect(nextTypes).toEqual([...everyInnerPayload.slice(1).map(payloadTypeOf), 0]);
  });

  it('an empty chain encodes to nothing with first type 0', () => {
    expect(encodeInnerPayloads([])).toEqual({ firstType: 0, bytes: Buffer.alloc(0) });
    expect(decodeInnerPayloads(0, Buffer.alloc(0))).toEqual([]);
  });

  it('IKE proposals with 0 and 8 byte SPIs and TLV attributes survive', () => {
    const sa: Payload = {
      kind: 'SA',
      proposals: [
        {
          ...ikeRekeyProposal,
          transforms: [
            ...ikeRekeyProposal.transforms,
            { type: 1, id: 20, attributes: [{ format: 'TLV', type: 99, value: Buffer.from([1, 2, 3]) }] },
          ],
        },
      ],
    };
    expect(roundTripInner([sa])).toEqual([sa]);
    expect(roundTripInner([{ kind: 'SA', proposals: [ikeProposal] }])).toEqual([{ kind: 'SA', proposals: [ikeProposal] }]);
  });

  it('the encoder writes a zero Protocol ID for SPI-less notifications', () => {
    const { bytes } = encodeInnerPayloads([
      { kind: 'N', protocolId: ProtocolId.ESP, spi: Buffer.alloc(0), notifyType: 16384, data: Buffer.alloc(0) },
    ]);
    expect(bytes.readUInt8(4)).toBe(0);
  });
});

describe('message round trips', () => {
  it('IKE_SA_INIT request and response', () => {
    for (const response of [false, true]) {
      const message = {
        header: header(ExchangeType.IKE_SA_INIT, {
          flags: { initiator: !response, response, version: false },
        }),
        payloads: [{ kind: 'SA', proposals: [ikeProposal] }, ke(19, 64), nonce()] satisfies Payload[],
      };
      const datagram = encodeMessage(message);
      const decoded = decodeMessage(datagram);
      expect(decoded.header).toEqual({ ...message.header, nextPayload: PayloadType.SA, majorVersion: 2, minorVersion: 0, length: datagram.length });
      expect(decoded.payloads).toEqual(message.payloads);
      expect(decoded.encrypted).toBeUndefined();
      expect(encodeMessage({ header: decoded.header, payloads: decoded.payloads })).toEqual(datagram);
    }
  });

  it('every payload kind in an unencrypted chain', () => {
    const message = { header: header(ExchangeType.INFORMATIONAL), payloads: everyInnerPayload };
    const decoded = decodeMessage(encodeMessage(message));
    expect(decoded.payloads).toEqual(everyInnerPayload);
  });

  it('an SK payload keeps its first inner type and body', () => {
    const sk: Payload = { kind: 'SK', firstInnerType: PayloadType.IDi, body: Buffer.alloc(48, 0x5a) };
    const datagram = encodeMessage({ header: header(ExchangeType.IKE_AUTH), payloads: [sk] });
    const decoded = decodeMessage(datagram);
    expect(decoded.payloads).toEqual([sk]);
    expect(decoded.header.nextPayload).toBe(PayloadType.SK);
    expect(decoded.encrypted?.offset).toBe(28);
    expect(decoded.encrypted?.associatedData).toEqual(datagram.subarray(0, 32));
  });

  it('an SKF payload keeps fragment numbers; later fragments carry Next Payload 0', () => {
    const first: Payload = { kind: 'SKF', fragmentNumber: 1, totalFragments: 3, firstInnerType: 35, body: Buffer.alloc(40, 1) };
    const second: Payload = { kind: 'SKF', fragmentNumber: 2, totalFragments: 3, firstInnerType: 0, body: Buffer.alloc(40, 2) };
    for (const skf of [first, second]) {
      const datagram = encodeMessage({ header: header(ExchangeType.IKE_AUTH), payloads: [skf] });
      const decoded = decodeMessage(datagram);
      expect(decoded.payloads).toEqual([skf]);
      expect(decoded.encrypted?.associatedData).toEqual(datagram.subarray(0, 36));
    }
  });

  it('flags: I, R and V bits map to booleans and back', () => {
    const flags = { initiator: true, response: true, version: true };
    const datagram = encodeMessage({ header: header(ExchangeType.INFORMATIONAL, { flags }), payloads: [] });
    expect(datagram.readUInt8(19)).toBe(0x38);
    expect(decodeMessage(datagram).header.flags).toEqual(flags);
  });
});
