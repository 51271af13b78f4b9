/**
 * Every length and allow-list check, each driven by a crafted byte string that breaks it.
 * Payload bodies are written in hex; `payload()` adds a generic header with a correct length
 * unless a test overrides it, and `message()` adds an IKE header with a correct Length.
 */
import { describe, expect, it } from 'vitest';
import {
  ExchangeType,
  PayloadType,
  UnsupportedCriticalPayloadError,
  WireError,
  checkPayloadRules,
  decodeInnerPayloads,
  decodeMessage,
} from '../../../../../src/ike/v2/wire/index.js';
import { hex } from './fixtures.js';

function payload(next: number, body: Buffer | string, opts: { flags?: number; length?: number } = {}): Buffer {
  const data = typeof body === 'string' ? hex(body) : body;
  const head = Buffer.alloc(4);
  head.writeUInt8(next, 0);
  head.writeUInt8(opts.flags ?? 0, 1);
  head.writeUInt16BE(opts.length ?? data.length + 4, 2);
  return Buffer.concat([head, data]);
}

function message(firstType: number, ...payloads: Buffer[]): Buffer {
  const body = Buffer.concat(payloads);
  const head = hex('1122334455667788 0000000000000000 00 20 22 08 00000000 00000000');
  head.writeUInt8(firstType, 16);
  head.writeUInt32BE(28 + body.length, 24);
  return Buffer.concat([head, body]);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return (error as WireError).code;
  }
  throw new Error('expected a WireError');
}

/** Decodes a single payload of `type` whose body is `body`. */
const decodeOne = (type: number, body: Buffer | string): unknown => decodeInnerPayloads(type, payload(0, body));

const TRANSFORM_AES = '00 00 000c 01 00 000c 800e 0080'; // last transform, ENCR_AES_CBC, Key Length 128
const proposal = (fields: string, transforms = TRANSFORM_AES, last = '00'): string => {
  const body = hex(fields + transforms);
  const length = (body.length + 4).toString(16).padStart(4, '0');
  return `${last} 00 ${length} ${fields} ${transforms}`;
};
const NONCE_16 = '00'.repeat(16);

describe('generic payload header (RFC 7296 §3.2)', () => {
  it('payload length < 4 → BAD_LENGTH', () => {
    expect(codeOf(() => decodeMessage(message(PayloadType.NONCE, payload(0, NONCE_16, { length: 3 }))))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeMessage(message(PayloadType.NONCE, payload(0, '', { length: 0 }))))).toBe('BAD_LENGTH');
  });

  it('payload length past the end of the message → BAD_LENGTH', () => {
    expect(codeOf(() => decodeMessage(message(PayloadType.NONCE, payload(0, NONCE_16, { length: 21 }))))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeMessage(message(PayloadType.NONCE, payload(0, NONCE_16, { length: 0xffff }))))).toBe('BAD_LENGTH');
  });

  it('a chain that promises another payload but ends → TRUNCATED', () => {
    expect(codeOf(() => decodeMessage(message(PayloadType.NONCE, payload(PayloadType.NONCE, NONCE_16))))).toBe('TRUNCATED');
  });

  it('bytes after the payload with Next Payload 0 → TRAILING_DATA', () => {
    const datagram = message(PayloadType.NONCE, payload(0, NONCE_16), hex('00000000'));
    expect(codeOf(() => decodeMessage(datagram))).toBe('TRAILING_DATA');
  });

  it('next-payload loop: a self-referencing chain ends in TRUNCATED, a long one in TOO_LARGE', () => {
    const selfLoop = payload(0x7f, '');
    expect(codeOf(() => decodeMessage(message(0x7f, selfLoop, selfLoop, selfLoop)))).toBe('TRUNCATED');
    const many = Array.from({ length: 65 }, () => selfLoop);
    expect(codeOf(() => decodeMessage(message(0x7f, ...many)))).toBe('TOO_LARGE');
    // SK whose inner chain names SK again: nested encryption is refused.
    expect(codeOf(() => decodeInnerPayloads(PayloadType.SK, payload(0, 'aabbccdd')))).toBe('BAD_ENCRYPTED_PLACEMENT');
  });

  it('SK must be the last payload → BAD_ENCRYPTED_PLACEMENT', () => {
    const datagram = message(PayloadType.SK, payload(PayloadType.IDi, '00'.repeat(32)), payload(0, NONCE_16));
    expect(codeOf(() => decodeMessage(datagram))).toBe('BAD_ENCRYPTED_PLACEMENT');
  });

  it('unknown critical payload → UnsupportedCriticalPayloadError naming the type', () => {
    const datagram = message(PayloadType.NONCE, payload(0x99, NONCE_16), payload(0, 'cafe', { flags: 0x80 }));
    let caught: unknown;
    try {
      decodeMessage(datagram);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnsupportedCriticalPayloadError);
    expect((caught as UnsupportedCriticalPayloadError).code).toBe('UNSUPPORTED_CRITICAL_PAYLOAD');
    expect((caught as UnsupportedCriticalPayloadError).payloadType).toBe(0x99);
    // Also inside SK, and for IKEv1 payload numbers (CVE-2015-3991: other version's payloads are unknown here).
    expect(() => decodeInnerPayloads(1, payload(0, '00', { flags: 0x80 }))).toThrow(UnsupportedCriticalPayloadError);
  });

  it('unknown non-critical payload is kept raw and skipped by the rules', () => {
    const sa = `${proposal('01 01 00 01')}`;
    const datagram = message(
      PayloadType.SA,
      payload(0x99, sa),
      payload(1, 'cafe'), // IKEv1 "SA" number: unknown in IKEv2, not critical
      payload(PayloadType.KE, 'beef'),
      payload(PayloadType.NONCE, '0013 0000 ' + 'ab'.repeat(64)),
      payload(0, NONCE_16),
    );
    const decoded = decodeMessage(datagram);
    expect(decoded.payloads.map((p) => p.kind)).toEqual(['SA', 'unknown', 'unknown', 'KE', 'Nonce']);
    expect(decoded.payloads[1]).toEqual({ kind: 'unknown', type: 0x99, critical: false, body: hex('cafe') });
    expect(checkPayloadRules(ExchangeType.IKE_SA_INIT, false, decoded.payloads)).toEqual({ ok: true });
  });

  it('a known payload with the critical bit set is accepted (the bit is ignored)', () => {
    expect(decodeInnerPayloads(PayloadType.NONCE, payload(0, NONCE_16, { flags: 0x80 }))).toHaveLength(1);
  });
});

describe('SA payload (RFC 7296 §3.3)', () => {
  const sa = (...proposals: string[]): string => proposals.join(' ');

  it('accepts a well-formed proposal', () => {
    expect(decodeOne(PayloadType.SA, sa(proposal('01 03 04 01 c0ffee01')))).toHaveLength(1);
  });

  it('an SA payload without proposals → EMPTY_DATA', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, ''))).toBe('EMPTY_DATA');
  });

  it('proposal length mismatch: longer than the SA → TRUNCATED, shorter than its contents → TRUNCATED, extra bytes → TRAILING_DATA, < 8 → BAD_LENGTH', () => {
    const good = hex(proposal('01 01 00 01'));
    const tooLong = Buffer.from(good);
    tooLong.writeUInt16BE(good.length + 4, 2);
    expect(codeOf(() => decodeOne(PayloadType.SA, tooLong))).toBe('TRUNCATED');
    const tooShort = Buffer.from(good);
    tooShort.writeUInt16BE(good.length - 4, 2);
    expect(codeOf(() => decodeOne(PayloadType.SA, tooShort))).toBe('TRUNCATED');
    const padded = Buffer.concat([good, hex('00000000')]);
    padded.writeUInt16BE(good.length + 4, 2);
    expect(codeOf(() => decodeOne(PayloadType.SA, padded))).toBe('TRAILING_DATA');
    const tiny = Buffer.from(good);
    tiny.writeUInt16BE(7, 2);
    expect(codeOf(() => decodeOne(PayloadType.SA, tiny))).toBe('BAD_LENGTH');
  });

  it('transform length mismatch: past the proposal → TRUNCATED, < 8 → BAD_LENGTH', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', '00 00 0010 01 00 000c 800e 0080')))).toBe('TRUNCATED');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', '00 00 0006 01 00 000c')))).toBe('BAD_LENGTH');
  });

  it('attribute TLV overrun → TRUNCATED; Key Length in TLV form → BAD_VALUE', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', '00 00 000c 01 00 000c 0063 0010')))).toBe('TRUNCATED');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', '00 00 000e 01 00 000c 000e 0002 0080')))).toBe('BAD_VALUE');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', '00 00 000a 01 00 000c 800e')))).toBe('TRUNCATED');
  });

  it('SPI size 7 (and other sizes wrong for the protocol) → BAD_SPI_SIZE', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 03 07 01 00112233445566')))).toBe('BAD_SPI_SIZE');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 04 01 00112233')))).toBe('BAD_SPI_SIZE');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 03 00 01')))).toBe('BAD_SPI_SIZE');
    expect(decodeOne(PayloadType.SA, proposal('01 01 08 01 0011223344556677'))).toHaveLength(1);
  });

  it('protocol ID outside IKE/AH/ESP → BAD_PROTOCOL_ID', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 04 04 01 00112233')))).toBe('BAD_PROTOCOL_ID');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 00 00 01')))).toBe('BAD_PROTOCOL_ID');
  });

  it('Num Transforms 0 or huge, or disagreeing with the bytes → BAD_SUBSTRUCTURE', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 00', '')))).toBe('BAD_SUBSTRUCTURE');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 ff')))).toBe('BAD_SUBSTRUCTURE');
    // Says 2 transforms, the first is marked last.
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 02', `${TRANSFORM_AES} ${TRANSFORM_AES}`)))).toBe('BAD_SUBSTRUCTURE');
    // Says 1 transform, but two are present.
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', `03 00 0008 02 00 0005 ${TRANSFORM_AES}`)))).toBe('BAD_SUBSTRUCTURE');
    // Says 2 transforms, one present.
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 02', `03 00 0008 02 00 0005`)))).toBe('TRUNCATED');
  });

  it('Last Substruc bits: invalid values and disagreement with the payload → BAD_SUBSTRUCTURE', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', TRANSFORM_AES, '01')))).toBe('BAD_SUBSTRUCTURE');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', TRANSFORM_AES, '02')))).toBe('BAD_SUBSTRUCTURE');
    expect(codeOf(() => decodeOne(PayloadType.SA, sa(proposal('01 01 00 01'), proposal('02 01 00 01'))))).toBe('BAD_SUBSTRUCTURE');
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('01 01 00 01', '02 00 000c 01 00 000c 800e 0080')))).toBe('BAD_SUBSTRUCTURE');
  });

  it('proposal numbering: 0, or not 1, 2, 3 … in a multi-proposal SA → BAD_SUBSTRUCTURE', () => {
    expect(codeOf(() => decodeOne(PayloadType.SA, proposal('00 01 00 01')))).toBe('BAD_SUBSTRUCTURE');
    const twoAndThree = sa(proposal('01 01 00 01', TRANSFORM_AES, '02'), proposal('03 01 00 01'));
    expect(codeOf(() => decodeOne(PayloadType.SA, twoAndThree))).toBe('BAD_SUBSTRUCTURE');
    const oneAndTwo = sa(proposal('01 01 00 01', TRANSFORM_AES, '02'), proposal('02 01 00 01'));
    expect(decodeOne(PayloadType.SA, oneAndTwo)).toHaveLength(1);
  });

  it('more than 64 proposals → TOO_LARGE', () => {
    const proposals = Array.from({ length: 65 }, (_, i) =>
      proposal(`${(i + 1).toString(16).padStart(2, '0')} 01 00 01`, TRANSFORM_AES, i === 64 ? '00' : '02'),
    );
    expect(codeOf(() => decodeOne(PayloadType.SA, sa(...proposals)))).toBe('TOO_LARGE');
  });
});

describe('KE, ID, AUTH, Nonce (RFC 7296 §3.4, §3.5, §3.8, §3.9)', () => {
  it('KE with empty data → EMPTY_DATA; shorter than its fixed part → TRUNCATED', () => {
    expect(codeOf(() => decodeOne(PayloadType.KE, '000e 0000'))).toBe('EMPTY_DATA');
    expect(codeOf(() => decodeOne(PayloadType.KE, '000e'))).toBe('TRUNCATED');
  });

  it('nonce of 15 and 257 bytes → BAD_NONCE_LENGTH; 16 and 256 accepted', () => {
    expect(codeOf(() => decodeOne(PayloadType.NONCE, '00'.repeat(15)))).toBe('BAD_NONCE_LENGTH');
    expect(codeOf(() => decodeOne(PayloadType.NONCE, '00'.repeat(257)))).toBe('BAD_NONCE_LENGTH');
    expect(decodeOne(PayloadType.NONCE, '00'.repeat(16))).toHaveLength(1);
    expect(decodeOne(PayloadType.NONCE, '00'.repeat(256))).toHaveLength(1);
  });

  it('ID address types must have address-sized data; other types non-empty', () => {
    expect(codeOf(() => decodeOne(PayloadType.IDi, '01 000000 c000020101'))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeOne(PayloadType.IDr, '05 000000 c0000201'))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeOne(PayloadType.IDi, '02 000000'))).toBe('EMPTY_DATA');
    expect(codeOf(() => decodeOne(PayloadType.IDi, '02 00'))).toBe('TRUNCATED');
  });

  it('AUTH without data → EMPTY_DATA', () => {
    expect(codeOf(() => decodeOne(PayloadType.AUTH, '02 000000'))).toBe('EMPTY_DATA');
  });
});

describe('Notify and Delete (RFC 7296 §3.10, §3.11)', () => {
  it('notify SPI size 7, or 4 for IKE → BAD_SPI_SIZE; SPI running past the payload → TRUNCATED', () => {
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '03 07 0018 00112233445566'))).toBe('BAD_SPI_SIZE');
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '01 04 0018 00112233'))).toBe('BAD_SPI_SIZE');
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '03 04 0018 0011'))).toBe('TRUNCATED');
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '00 00 4009'))).toBe('BAD_SPI_SIZE'); // REKEY_SA needs an SPI
  });

  it('notification data sizes fixed by the RFCs → BAD_NOTIFY_DATA', () => {
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '00 00 4006'))).toBe('BAD_NOTIFY_DATA'); // COOKIE, empty
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, `00 00 4006 ${'00'.repeat(65)}`))).toBe('BAD_NOTIFY_DATA');
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, `00 00 4004 ${'00'.repeat(19)}`))).toBe('BAD_NOTIFY_DATA');
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '00 00 0011 0e'))).toBe('BAD_NOTIFY_DATA'); // INVALID_KE_PAYLOAD
    expect(codeOf(() => decodeOne(PayloadType.NOTIFY, '00 00 402f 000200'))).toBe('BAD_NOTIFY_DATA');
    expect(decodeOne(PayloadType.NOTIFY, `00 00 4006 ${'00'.repeat(64)}`)).toHaveLength(1);
  });

  it('Delete: wrong SPI size, protocol, count/length disagreement, empty ESP, SPIs for IKE', () => {
    expect(codeOf(() => decodeOne(PayloadType.DELETE, '03 08 0001 0011223344556677'))).toBe('BAD_SPI_SIZE');
    expect(codeOf(() => decodeOne(PayloadType.DELETE, '04 04 0001 00112233'))).toBe('BAD_PROTOCOL_ID');
    expect(codeOf(() => decodeOne(PayloadType.DELETE, '03 04 ffff 00112233'))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeOne(PayloadType.DELETE, '03 04 0001 0011223344'))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeOne(PayloadType.DELETE, '03 04 0000'))).toBe('BAD_VALUE');
    expect(codeOf(() => decodeOne(PayloadType.DELETE, '01 00 0003'))).toBe('BAD_VALUE');
  });
});

describe('Traffic selectors (RFC 7296 §3.13)', () => {
  const v4 = (ports: string, start: string, end: string): string => `07 00 0010 ${ports} ${start} ${end}`;

  it('start address > end address → BAD_TS_RANGE', () => {
    expect(codeOf(() => decodeOne(PayloadType.TSi, `01 000000 ${v4('0000 ffff', '0a000002', '0a000001')}`))).toBe('BAD_TS_RANGE');
  });

  it('start port > end port → BAD_TS_RANGE, except the OPAQUE form 65535..0', () => {
    expect(codeOf(() => decodeOne(PayloadType.TSr, `01 000000 ${v4('000a 0005', '00000000', 'ffffffff')}`))).toBe('BAD_TS_RANGE');
    expect(decodeOne(PayloadType.TSr, `01 000000 ${v4('ffff 0000', '00000000', 'ffffffff')}`)).toHaveLength(1);
  });

  it('unknown TS type → BAD_TS_TYPE; wrong selector length → BAD_LENGTH', () => {
    expect(codeOf(() => decodeOne(PayloadType.TSi, '01 000000 09 00 0010 0000ffff 00000000 ffffffff'))).toBe('BAD_TS_TYPE');
    expect(codeOf(() => decodeOne(PayloadType.TSi, '01 000000 07 00 0014 0000ffff 00000000 ffffffff 00000000'))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeOne(PayloadType.TSi, `01 000000 08 00 0010 0000ffff 00000000 ffffffff`))).toBe('BAD_LENGTH');
  });

  it('zero and huge selector counts; bytes after the last selector', () => {
    expect(codeOf(() => decodeOne(PayloadType.TSi, '00 000000'))).toBe('EMPTY_DATA');
    expect(codeOf(() => decodeOne(PayloadType.TSi, `ff 000000 ${v4('0000 ffff', '00000000', 'ffffffff')}`))).toBe('TRUNCATED');
    expect(codeOf(() => decodeOne(PayloadType.TSi, `01 000000 ${v4('0000 ffff', '00000000', 'ffffffff')} 00`))).toBe('TRAILING_DATA');
  });
});

describe('CP and SKF (RFC 7296 §3.15, RFC 7383 §2.5)', () => {
  it('CP: unknown CFG type → BAD_VALUE; attribute overrun → TRUNCATED', () => {
    expect(codeOf(() => decodeOne(PayloadType.CP, '09 000000'))).toBe('BAD_VALUE');
    expect(codeOf(() => decodeOne(PayloadType.CP, '01 000000 0001 0004 0a00'))).toBe('TRUNCATED');
    expect(decodeOne(PayloadType.CP, '01 000000 0001 0000 8003 0004 08080808')).toHaveLength(1);
  });

  it('SKF: fragment 0, fragment above total, total 0 or above 64 → BAD_FRAGMENT', () => {
    const skf = (numbers: string): Buffer => message(PayloadType.SKF, payload(PayloadType.IDi, `${numbers} ${'00'.repeat(24)}`));
    expect(codeOf(() => decodeMessage(skf('0000 0002')))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => decodeMessage(skf('0003 0002')))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => decodeMessage(skf('0001 0000')))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => decodeMessage(skf('0001 0041')))).toBe('BAD_FRAGMENT');
    expect(codeOf(() => decodeMessage(message(PayloadType.SKF, payload(0, '0001'))))).toBe('TRUNCATED');
    const ok = decodeMessage(skf('0002 0040'));
    expect(ok.encrypted?.payload).toMatchObject({ kind: 'SKF', fragmentNumber: 2, totalFragments: 64, firstInnerType: 0 });
  });
});
