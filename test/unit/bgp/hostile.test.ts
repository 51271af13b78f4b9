/**
 * Every malformed message yields the NOTIFICATION RFC 4271 §6 prescribes
 * (code/subcode/data), and with RFC 7606 (the default) the faults that do not
 * need a session reset become treat-as-withdraw or attribute discard instead.
 * Bytes are written by hand (helpers.ts) so each test breaks exactly one rule.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/bgp/codec.js';
import { BgpFramer } from '../../../src/bgp/framer.js';
import { isTreatAsWithdraw, type UpdateMessage } from '../../../src/bgp/messages.js';
import { buildOpen, negotiateSession } from '../../../src/bgp/open.js';
import { AS_PATH_64512_2, AS_PATH_64512_4, MARKER, NEXT_HOP_1, NLRI_10_0_16, ORIGIN_IGP, attr, frame, hex, notificationOf, updateBody } from './helpers.js';

const STRICT = { fourOctetAs: true, peerAs: 64512, revisedErrorHandling: false } as const;
const REVISED = { fourOctetAs: true, peerAs: 64512 } as const;
const GOOD_ATTRS = Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4, NEXT_HOP_1]);

const open = (body: string, length?: number): Buffer => frame(1, body, length);
/** OPEN body: version 4, AS 64512, hold 30, ID 169.254.10.1, then `params` with a correct Opt Parm Len. */
const openBody = (params = '', overrides: { version?: string; hold?: string; id?: string; optLen?: string } = {}): string => {
  const p = hex(params);
  const optLen = overrides.optLen ?? p.length.toString(16).padStart(2, '0');
  return `${overrides.version ?? '04'} fc00 ${overrides.hold ?? '001e'} ${overrides.id ?? 'a9fe0a01'} ${optLen} ${params}`;
};
const update = (attributes: Buffer, nlri = NLRI_10_0_16, withdrawn = ''): Buffer => frame(2, updateBody(withdrawn, attributes, nlri));
const strict = (bytes: Buffer) => notificationOf(() => decodeMessage(bytes, STRICT));
const revised = (bytes: Buffer): UpdateMessage => decodeMessage(bytes, REVISED) as UpdateMessage;
const firstProblem = (u: UpdateMessage) => {
  const p = u.problems?.[0];
  return p ? { code: p.error.errorCode, subcode: p.error.errorSubcode, handling: p.handling } : undefined;
};

describe('message header (RFC 4271 §6.1)', () => {
  it('bad marker → 1/1', () => {
    const bytes = Buffer.from(encodeKeepalive());
    bytes[7] = 0xfe;
    expect(notificationOf(() => decodeMessage(bytes))).toMatchObject({ code: 1, subcode: 1 });
    expect(new BgpFramer().push(bytes).error).toMatchObject({ errorCode: 1, errorSubcode: 1 });
  });

  it('the framer fails on a bad marker octet before the rest of the header arrives', () => {
    expect(new BgpFramer().push(hex('ffff00')).error).toMatchObject({ errorCode: 1, errorSubcode: 1 });
  });

  it('length below 19 or above 4096 → 1/2 with the Length field as data', () => {
    expect(new BgpFramer().push(hex(`${MARKER} 0012 04`)).error).toMatchObject({ errorCode: 1, errorSubcode: 2, data: hex('0012') });
    expect(new BgpFramer().push(hex(`${MARKER} 1001`)).error).toMatchObject({ errorCode: 1, errorSubcode: 2, data: hex('1001') });
    expect(notificationOf(() => decodeMessage(hex(`${MARKER} 0012 04`)))).toMatchObject({ code: 1, subcode: 2, data: '0012' });
  });

  it('Length field different from the frame → 1/2', () => {
    expect(notificationOf(() => decodeMessage(Buffer.concat([encodeKeepalive(), hex('00')])))).toMatchObject({ code: 1, subcode: 2, data: '0013' });
  });

  it('KEEPALIVE longer than 19, OPEN shorter than 29, UPDATE shorter than 23, NOTIFICATION shorter than 21 → 1/2', () => {
    expect(notificationOf(() => decodeMessage(frame(4, '00')))).toMatchObject({ code: 1, subcode: 2, data: '0014' });
    expect(notificationOf(() => decodeMessage(frame(1, '04fc00001e')))).toMatchObject({ code: 1, subcode: 2, data: '0018' });
    expect(notificationOf(() => decodeMessage(frame(2, '0000')))).toMatchObject({ code: 1, subcode: 2, data: '0015' });
    expect(notificationOf(() => decodeMessage(frame(3, '06')))).toMatchObject({ code: 1, subcode: 2, data: '0014' });
  });

  it('unknown type → 1/3 with the Type field as data', () => {
    expect(notificationOf(() => decodeMessage(frame(6, '')))).toMatchObject({ code: 1, subcode: 3, data: '06' });
    expect(notificationOf(() => decodeMessage(frame(0, '')))).toMatchObject({ code: 1, subcode: 3, data: '00' });
  });

  it('ROUTE-REFRESH of the wrong length → 7/1 (RFC 7313 §5)', () => {
    expect(notificationOf(() => decodeMessage(frame(5, '0001000100')))).toMatchObject({ code: 7, subcode: 1 });
  });
});

describe('OPEN (RFC 4271 §6.2)', () => {
  it('a well-formed OPEN decodes', () => {
    expect(decodeMessage(open(openBody('02 06 4104 0000fc00')))).toMatchObject({ type: 'open', myAs: 64512, holdTimeSeconds: 30 });
  });

  it('unsupported version → 2/1 with the version we speak (4) as data', () => {
    expect(notificationOf(() => decodeMessage(open(openBody('', { version: '03' }))))).toMatchObject({ code: 2, subcode: 1, data: '0004' });
    expect(notificationOf(() => decodeMessage(open(openBody('', { version: '05' }))))).toMatchObject({ code: 2, subcode: 1, data: '0004' });
  });

  it('bad peer AS → 2/2', () => {
    const ours = buildOpen({ localAs: 65000, bgpIdentifier: 2, holdTimeSeconds: 30 });
    const theirs = buildOpen({ localAs: 64513, bgpIdentifier: 1, holdTimeSeconds: 30 });
    expect(notificationOf(() => negotiateSession(ours, theirs, 64512))).toMatchObject({ code: 2, subcode: 2 });
    // A 4-octet peer is judged by its capability, not by AS_TRANS in My AS.
    const big = buildOpen({ localAs: 4200000001, bgpIdentifier: 1, holdTimeSeconds: 30 });
    expect(negotiateSession(ours, big, 4200000001).peerAs).toBe(4200000001);
    expect(notificationOf(() => negotiateSession(ours, big, 23456))).toMatchObject({ code: 2, subcode: 2 });
  });

  it('BGP Identifier 0 → 2/3', () => {
    expect(notificationOf(() => decodeMessage(open(openBody('', { id: '00000000' }))))).toMatchObject({ code: 2, subcode: 3 });
  });

  it('hold time 1 or 2 → 2/6; 0 and 3 are fine', () => {
    expect(notificationOf(() => decodeMessage(open(openBody('', { hold: '0001' }))))).toMatchObject({ code: 2, subcode: 6 });
    expect(notificationOf(() => decodeMessage(open(openBody('', { hold: '0002' }))))).toMatchObject({ code: 2, subcode: 6 });
    expect(decodeMessage(open(openBody('', { hold: '0000' })))).toMatchObject({ holdTimeSeconds: 0 });
    expect(decodeMessage(open(openBody('', { hold: '0003' })))).toMatchObject({ holdTimeSeconds: 3 });
  });

  it('optional parameter other than Capabilities → 2/4', () => {
    expect(notificationOf(() => decodeMessage(open(openBody('01 02 0000'))))).toMatchObject({ code: 2, subcode: 4 });
  });

  it('Opt Parm Len overrunning the message → 1/2 with the message Length (GoBGP BGPOpen.DecodeFromBytes)', () => {
    const bytes = open(openBody('02 06 4104 0000fc00', { optLen: '10' }));
    expect(notificationOf(() => decodeMessage(bytes))).toMatchObject({ code: 1, subcode: 2, data: bytes.length.toString(16).padStart(4, '0') });
    // Opt Parm Len shorter than what follows is inconsistent too.
    expect(notificationOf(() => decodeMessage(open(openBody('02 06 4104 0000fc00', { optLen: '04' }))))).toMatchObject({ code: 1, subcode: 2 });
  });

  it('a parameter whose length overruns Opt Parm Len → 1/2; a lone parameter-type octet → 1/2', () => {
    expect(notificationOf(() => decodeMessage(open(openBody('02 09 4104 0000fc00'))))).toMatchObject({ code: 1, subcode: 2 });
    expect(notificationOf(() => decodeMessage(open(openBody('02'))))).toMatchObject({ code: 1, subcode: 2 });
  });

  it('a recognised capability of the wrong length → 2/0 (recognised but malformed)', () => {
    expect(notificationOf(() => decodeMessage(open(openBody('02 04 4102 fc00'))))).toMatchObject({ code: 2, subcode: 0 });
    expect(notificationOf(() => decodeMessage(open(openBody('02 03 0201 00'))))).toMatchObject({ code: 2, subcode: 0 });
    expect(notificationOf(() => decodeMessage(open(openBody('02 05 4003 000000'))))).toMatchObject({ code: 2, subcode: 0 });
    // A capability overrunning its parameter.
    expect(notificationOf(() => decodeMessage(open(openBody('02 04 4106 0000'))))).toMatchObject({ code: 2, subcode: 0 });
  });
});

describe('UPDATE, RFC 4271 §6.3 (strict: every fault resets the session)', () => {
  it('Withdrawn Routes Length overrunning the message → 3/1', () => {
    expect(strict(frame(2, updateBody('', '', '', { withdrawn: 9 })))).toMatchObject({ code: 3, subcode: 1 });
  });

  it('Total Path Attribute Length overrunning the message → 3/1', () => {
    expect(strict(frame(2, updateBody('', GOOD_ATTRS, '', { attributes: GOOD_ATTRS.length + 1 })))).toMatchObject({ code: 3, subcode: 1 });
  });

  it('an attribute appearing twice → 3/1', () => {
    expect(strict(update(Buffer.concat([GOOD_ATTRS, ORIGIN_IGP])))).toMatchObject({ code: 3, subcode: 1 });
  });

  it('unrecognised well-known attribute → 3/2 with the attribute as data', () => {
    const unknown = attr(0x40, 99, 'abcd');
    expect(strict(update(Buffer.concat([GOOD_ATTRS, unknown])))).toMatchObject({ code: 3, subcode: 2, data: unknown.toString('hex') });
  });

  it('missing ORIGIN, AS_PATH or NEXT_HOP with NLRI → 3/3 with the type code as data', () => {
    expect(strict(update(Buffer.concat([AS_PATH_64512_4, NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 3, data: '01' });
    expect(strict(update(Buffer.concat([ORIGIN_IGP, NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 3, data: '02' });
    expect(strict(update(Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4])))).toMatchObject({ code: 3, subcode: 3, data: '03' });
  });

  it('wrong Optional/Transitive flags on a known attribute → 3/4 with the attribute as data', () => {
    const optionalOrigin = attr(0xc0, 1, '00');
    expect(strict(update(Buffer.concat([optionalOrigin, AS_PATH_64512_4, NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 4, data: optionalOrigin.toString('hex') });
    const transitiveMed = attr(0xc0, 4, '00000064');
    expect(strict(update(Buffer.concat([GOOD_ATTRS, transitiveMed])))).toMatchObject({ code: 3, subcode: 4 });
  });

  it('attribute length conflicting with its type → 3/5', () => {
    const longNextHop = attr(0x40, 3, 'a9fe0a0100');
    expect(strict(update(Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4, longNextHop])))).toMatchObject({ code: 3, subcode: 5, data: longNextHop.toString('hex') });
    expect(strict(update(Buffer.concat([attr(0x40, 1, '0000'), AS_PATH_64512_4, NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 5 });
    expect(strict(update(Buffer.concat([GOOD_ATTRS, attr(0x80, 4, '0064')])))).toMatchObject({ code: 3, subcode: 5 });
    expect(strict(update(Buffer.concat([GOOD_ATTRS, attr(0x40, 6, '00')])))).toMatchObject({ code: 3, subcode: 5 });
  });

  it('an attribute whose length overruns the attribute block → 3/5', () => {
    const overrun = Buffer.concat([GOOD_ATTRS, hex('80 04 09 0000')]);
    expect(strict(update(overrun))).toMatchObject({ code: 3, subcode: 5 });
  });

  it('undefined ORIGIN → 3/6 with the attribute as data', () => {
    const badOrigin = attr(0x40, 1, '03');
    expect(strict(update(Buffer.concat([badOrigin, AS_PATH_64512_4, NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 6, data: badOrigin.toString('hex') });
  });

  it('NEXT_HOP that is not a unicast host address → 3/8', () => {
    for (const address of ['00000000', '00000001', 'e0000001', 'f0000001', 'ffffffff']) {
      const nextHop = attr(0x40, 3, address);
      expect(strict(update(Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4, nextHop])))).toMatchObject({ code: 3, subcode: 8, data: nextHop.toString('hex') });
    }
  });

  it('COMMUNITIES not a non-zero multiple of 4 → 3/9', () => {
    expect(strict(update(Buffer.concat([GOOD_ATTRS, attr(0xc0, 8, '000064')])))).toMatchObject({ code: 3, subcode: 9 });
  });

  it('NLRI or withdrawn prefix longer than 32, or cut short → 3/10', () => {
    expect(strict(update(GOOD_ATTRS, '21 0a000000 00'))).toMatchObject({ code: 3, subcode: 10 });
    expect(strict(update(GOOD_ATTRS, '18 0a00'))).toMatchObject({ code: 3, subcode: 10 });
    expect(strict(update(Buffer.alloc(0), '', '21 0a00000000'))).toMatchObject({ code: 3, subcode: 10 });
  });

  it('malformed AS_PATH → 3/11: unknown segment type, zero-length segment, overrun, lone octet, confederation segment', () => {
    for (const value of ['05 01 0000fc00', '02 00', '02 02 0000fc00', '02 01 0000fc00 02', '03 01 0000fc00']) {
      expect(strict(update(Buffer.concat([ORIGIN_IGP, attr(0x40, 2, value), NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 11 });
    }
  });

  it('AS_PATH whose leftmost AS is not the peer\'s → 3/11', () => {
    expect(strict(update(Buffer.concat([ORIGIN_IGP, attr(0x40, 2, '02 01 0000fc01'), NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 11 });
    expect(strict(update(Buffer.concat([ORIGIN_IGP, attr(0x40, 2, ''), NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 11 });
    expect(strict(update(Buffer.concat([ORIGIN_IGP, attr(0x40, 2, '01 01 0000fc00'), NEXT_HOP_1])))).toMatchObject({ code: 3, subcode: 11 });
  });

  it('2-octet AS_PATH when 4-octet AS was not negotiated', () => {
    const ctx = { ...STRICT, fourOctetAs: false };
    expect((decodeMessage(update(Buffer.concat([ORIGIN_IGP, AS_PATH_64512_2, NEXT_HOP_1])), ctx) as UpdateMessage).attributes.asPath).toEqual([{ kind: 'sequence', asns: [64512] }]);
    expect(notificationOf(() => decodeMessage(update(GOOD_ATTRS), ctx))).toMatchObject({ code: 3, subcode: 11 });
  });
});

describe('UPDATE, RFC 7606 (default)', () => {
  const treatAsWithdraw: [string, Buffer, number, number][] = [
    ['wrong flags (§3(c))', Buffer.concat([attr(0xc0, 1, '00'), AS_PATH_64512_4, NEXT_HOP_1]), 3, 4],
    ['missing well-known (§3(d))', Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4]), 3, 3],
    ['attribute overrunning the block (§4)', Buffer.concat([GOOD_ATTRS, hex('80 04 09 0000')]), 3, 5],
    ['two octets left, too few for an attribute header (§4)', Buffer.concat([GOOD_ATTRS, hex('8004')]), 3, 5],
    ['ORIGIN length (§7.1)', Buffer.concat([attr(0x40, 1, '0000'), AS_PATH_64512_4, NEXT_HOP_1]), 3, 5],
    ['ORIGIN value (§7.1)', Buffer.concat([attr(0x40, 1, '07'), AS_PATH_64512_4, NEXT_HOP_1]), 3, 6],
    ['malformed AS_PATH (§7.2)', Buffer.concat([ORIGIN_IGP, attr(0x40, 2, '02 00'), NEXT_HOP_1]), 3, 11],
    ['leftmost AS not the peer (§7.2)', Buffer.concat([ORIGIN_IGP, attr(0x40, 2, '02 01 0000fc01'), NEXT_HOP_1]), 3, 11],
    ['NEXT_HOP length (§7.3)', Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4, attr(0x40, 3, 'a9fe0a')]), 3, 5],
    ['NEXT_HOP multicast (§7.3)', Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4, attr(0x40, 3, 'e0000005')]), 3, 8],
    ['MED length (§7.4)', Buffer.concat([GOOD_ATTRS, attr(0x80, 4, '000064')]), 3, 5],
    ['COMMUNITIES length (§7.8)', Buffer.concat([GOOD_ATTRS, attr(0xc0, 8, '')]), 3, 9],
  ];
  for (const [name, attributes, code, subcode] of treatAsWithdraw) {
    it(`${name}: treat-as-withdraw, carrying ${code}/${subcode}`, () => {
      const decoded = revised(update(attributes, NLRI_10_0_16, '18 c00002'));
      expect(isTreatAsWithdraw(decoded)).toBe(true);
      expect(firstProblem(decoded)).toEqual({ code, subcode, handling: 'treat-as-withdraw' });
      expect(decoded.nlri).toEqual(['10.0.0.0/16']);
      expect(decoded.withdrawn).toEqual(['192.0.2.0/24']);
    });
  }

  const discarded: [string, Buffer, keyof UpdateMessage['attributes']][] = [
    ['ATOMIC_AGGREGATE with a value (§7.6)', attr(0x40, 6, '01'), 'atomicAggregate'],
    ['AGGREGATOR of 6 octets between 4-octet speakers (§7.7)', attr(0xc0, 7, 'fc00 0a000001'), 'aggregator'],
    ['LOCAL_PREF of 2 octets from an eBGP peer (§7.5)', attr(0x40, 5, '0064'), 'localPref'],
    ['AS4_AGGREGATOR between 4-octet speakers (RFC 6793 §4.1)', attr(0xc0, 18, '0000fc00 0a000001'), 'as4Aggregator'],
  ];
  for (const [name, bad, field] of discarded) {
    it(`${name}: attribute discarded, routes kept`, () => {
      const decoded = revised(update(Buffer.concat([GOOD_ATTRS, bad])));
      expect(isTreatAsWithdraw(decoded)).toBe(false);
      expect(decoded.problems?.[0]?.handling).toBe('attribute-discard');
      expect(decoded.attributes[field]).toBeUndefined();
      expect(decoded.nlri).toEqual(['10.0.0.0/16']);
    });
  }

  it('a repeated attribute: the first is kept, the rest discarded (§3(g))', () => {
    const decoded = revised(update(Buffer.concat([GOOD_ATTRS, attr(0x40, 1, '02')])));
    expect(decoded.attributes.origin).toBe(0);
    expect(firstProblem(decoded)).toEqual({ code: 3, subcode: 1, handling: 'attribute-discard' });
  });

  const sessionReset: [string, Buffer, number, number][] = [
    ['Withdrawn Routes Length overrun (§4)', frame(2, updateBody('', '', '', { withdrawn: 9 })), 3, 1],
    ['Total Path Attribute Length overrun (§4)', frame(2, updateBody('', GOOD_ATTRS, '', { attributes: 200 })), 3, 1],
    ['NLRI prefix length 33 (§5.3)', update(GOOD_ATTRS, '21 0a000000 00'), 3, 10],
    ['unrecognised well-known attribute', update(Buffer.concat([GOOD_ATTRS, attr(0x40, 99, '')])), 3, 2],
    ['MP_REACH_NLRI twice (§3(g))', update(Buffer.concat([GOOD_ATTRS, attr(0x80, 14, '0001 01 04 a9fe0a01 00'), attr(0x80, 14, '0001 01 04 a9fe0a01 00')])), 3, 1],
    ['MP_REACH_NLRI cut short (§7.11)', update(Buffer.concat([GOOD_ATTRS, attr(0x80, 14, '0001 01')])), 3, 9],
    ['a treat-as-withdraw fault with no NLRI to withdraw (§5.2)', update(Buffer.concat([attr(0x40, 1, '09'), AS_PATH_64512_4, NEXT_HOP_1]), ''), 3, 6],
  ];
  for (const [name, bytes, code, subcode] of sessionReset) {
    it(`${name}: session reset with ${code}/${subcode}`, () => {
      expect(notificationOf(() => decodeMessage(bytes, REVISED))).toMatchObject({ code, subcode, handling: 'session-reset' });
    });
  }

  it('an unrecognised optional transitive attribute is kept; an optional non-transitive one ignored', () => {
    const decoded = revised(update(Buffer.concat([GOOD_ATTRS, attr(0xc0, 200, 'beef'), attr(0x80, 201, 'cafe')])));
    expect(decoded.problems).toBeUndefined();
    expect(decoded.attributes.other).toEqual([{ flags: 0xc0, typeCode: 200, value: hex('beef') }]);
  });

  it('a withdrawal-only UPDATE needs no attributes', () => {
    expect(revised(frame(2, updateBody('10 0a00', '', '')))).toEqual({ type: 'update', withdrawn: ['10.0.0.0/16'], attributes: {}, nlri: [] });
  });
});

function encodeKeepalive(): Buffer {
  return hex(`${MARKER} 0013 04`);
}
