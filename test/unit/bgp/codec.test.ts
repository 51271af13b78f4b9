/**
 * Round trips for every message the codec speaks, OPEN negotiation, 4-octet
 * AS handling (AS_TRANS, AS4_PATH), and UPDATE packing.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/bgp/codec.js';
import { AS_TRANS, AttributeType, MAX_MESSAGE_LENGTH, Origin } from '../../../src/bgp/constants.js';
import type { BgpMessage, OpenMessage, UpdateMessage } from '../../../src/bgp/messages.js';
import { buildOpen, claimedAs, negotiateSession } from '../../../src/bgp/open.js';
import { asPathLength, effectiveAsPath, packUpdates } from '../../../src/bgp/update.js';
import { splitPrefix } from '../../../src/bgp/prefix.js';
import { AS_PATH_64512_4, NEXT_HOP_1, ORIGIN_IGP, frame, hex, updateBody } from './helpers.js';

const FOUR = { fourOctetAs: true } as const;
const TWO = { fourOctetAs: false } as const;

function roundTrip(message: BgpMessage, ctx: { fourOctetAs: boolean } = FOUR): BgpMessage {
  const bytes = encodeMessage(message, ctx);
  expect(bytes.readUInt16BE(16)).toBe(bytes.length);
  return decodeMessage(bytes, ctx);
}

const fullUpdate: UpdateMessage = {
  type: 'update',
  withdrawn: ['192.0.2.0/24', '0.0.0.0/0', '10.1.2.3/32'],
  attributes: {
    origin: Origin.EGP,
    asPath: [
      { kind: 'sequence', asns: [64512, 4200000001, 65001] },
      { kind: 'set', asns: [1, 2, 3] },
    ],
    nextHop: '169.254.10.1',
    multiExitDisc: 100,
    localPref: 200,
    atomicAggregate: true,
    aggregator: { asn: 4200000001, address: '10.0.0.1' },
    communities: hex('fde8 0064 ffff ff01'),
    other: [{ flags: 0xc0, typeCode: 99, value: hex('0102030405') }],
  },
  nlri: ['10.0.0.0/16', '10.128.0.0/9', '172.31.255.0/24'],
};

describe('round trips', () => {
  it('KEEPALIVE is the bare 19-octet header', () => {
    const bytes = encodeMessage({ type: 'keepalive' });
    expect(bytes.toString('hex')).toBe(`${'ff'.repeat(16)}001304`);
    expect(decodeMessage(bytes)).toEqual({ type: 'keepalive' });
  });

  it('NOTIFICATION with and without data', () => {
    const withData: BgpMessage = { type: 'notification', errorCode: 6, errorSubcode: 2, data: Buffer.from('shutdown') };
    expect(roundTrip(withData)).toEqual(withData);
    const bare: BgpMessage = { type: 'notification', errorCode: 4, errorSubcode: 0, data: Buffer.alloc(0) };
    expect(encodeMessage(bare).length).toBe(21);
    expect(roundTrip(bare)).toEqual(bare);
  });

  it('ROUTE-REFRESH (RFC 2918 §3)', () => {
    const rr: BgpMessage = { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 };
    const bytes = encodeMessage(rr);
    expect(bytes.subarray(16).toString('hex')).toBe('0017050001 0001'.replace(/ /g, ''));
    expect(decodeMessage(bytes)).toEqual(rr);
  });

  it('OPEN with every capability we know and one we do not', () => {
    const open: OpenMessage = {
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTimeSeconds: 30,
      bgpIdentifier: 0xa9fe0a02,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'four-octet-as', asn: 65000 },
        { kind: 'graceful-restart', restartState: true, restartTimeSeconds: 120, families: [{ afi: 1, safi: 1, forwardingState: true }] },
        { kind: 'unknown', code: 70, value: Buffer.alloc(0) },
        { kind: 'unknown', code: 73, value: Buffer.from('host') },
      ],
    };
    expect(roundTrip(open)).toEqual(open);
  });

  it('our OPEN: version 4, IPv4 unicast, route refresh, 4-octet AS; graceful restart only when configured', () => {
    const open = buildOpen({ localAs: 65000, bgpIdentifier: 0x0a000001, holdTimeSeconds: 30 });
    expect(open.capabilities.map((c) => c.kind)).toEqual(['multiprotocol', 'route-refresh', 'four-octet-as']);
    expect(roundTrip(open)).toEqual(open);
    const withGr = buildOpen({ localAs: 65000, bgpIdentifier: 1, holdTimeSeconds: 30, gracefulRestart: { restartTimeSeconds: 90 } });
    expect(withGr.capabilities.map((c) => c.kind)).toContain('graceful-restart');
  });

  it('an ASN above 65535 puts AS_TRANS in My AS and the real one in the capability (RFC 6793 §4.2.1)', () => {
    const open = buildOpen({ localAs: 4200000001, bgpIdentifier: 1, holdTimeSeconds: 30 });
    expect(open.myAs).toBe(AS_TRANS);
    const decoded = roundTrip(open) as OpenMessage;
    expect(decoded.myAs).toBe(23456);
    expect(claimedAs(decoded)).toBe(4200000001);
  });

  it('UPDATE with every attribute, 4-octet AS numbers', () => {
    expect(roundTrip(fullUpdate, FOUR)).toEqual(fullUpdate);
  });

  it('UPDATE with MP_REACH_NLRI / MP_UNREACH_NLRI for IPv4 unicast', () => {
    const mp: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: {
        origin: Origin.IGP,
        asPath: [{ kind: 'sequence', asns: [64512] }],
        mpReach: { nextHop: '169.254.10.1', nlri: ['10.0.0.0/8'] },
        mpUnreach: { withdrawn: ['10.9.0.0/16'] },
      },
      nlri: [],
    };
    expect(roundTrip(mp)).toEqual(mp);
  });

  it('an attribute longer than 255 octets uses the Extended Length bit', () => {
    const communities = Buffer.alloc(400, 1);
    const update: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: { origin: Origin.IGP, asPath: [{ kind: 'sequence', asns: [64512] }], nextHop: '169.254.10.1', communities },
      nlri: ['10.0.0.0/16'],
    };
    const bytes = encodeMessage(update, FOUR);
    expect(bytes.includes(hex('d0 08 0190'))).toBe(true); // flags 0xC0|0x10, type 8, length 400
    expect(decodeMessage(bytes, FOUR)).toEqual(update);
  });

  it('End-of-RIB is an empty UPDATE of 23 octets', () => {
    const eor: UpdateMessage = { type: 'update', withdrawn: [], attributes: {}, nlri: [] };
    expect(encodeMessage(eor).length).toBe(23);
    expect(roundTrip(eor)).toEqual(eor);
  });
});

describe('2-octet AS peers (RFC 6793 §4.2)', () => {
  it('AS numbers above 65535 go out as AS_TRANS with AS4_PATH and AS4_AGGREGATOR; the receiver rebuilds the path', () => {
    const bytes = encodeMessage(fullUpdate, TWO);
    const decoded = decodeMessage(bytes, TWO) as UpdateMessage;
    expect(decoded.attributes.asPath?.[0]?.asns).toEqual([64512, AS_TRANS, 65001]);
    expect(decoded.attributes.aggregator).toEqual({ asn: AS_TRANS, address: '10.0.0.1' });
    expect(decoded.attributes.as4Aggregator).toEqual({ asn: 4200000001, address: '10.0.0.1' });
    expect(effectiveAsPath(decoded.attributes)).toEqual(fullUpdate.attributes.asPath);
  });

  it('a path with a 2-octet prefix before AS4_PATH keeps the leading ASes', () => {
    const merged = effectiveAsPath({
      asPath: [{ kind: 'sequence', asns: [100, 200, AS_TRANS, 300] }],
      as4Path: [{ kind: 'sequence', asns: [4200000001, 300] }],
    });
    expect(merged).toEqual([
      { kind: 'sequence', asns: [100, 200] },
      { kind: 'sequence', asns: [4200000001, 300] },
    ]);
  });

  it('an AS4_PATH longer than AS_PATH is ignored', () => {
    const asPath = [{ kind: 'sequence' as const, asns: [100] }];
    expect(effectiveAsPath({ asPath, as4Path: [{ kind: 'sequence', asns: [1, 2] }] })).toEqual(asPath);
  });

  it('AS4_PATH from a 4-octet speaker is discarded (RFC 6793 §4.1)', () => {
    const update: UpdateMessage = { ...fullUpdate, attributes: { ...fullUpdate.attributes, as4Path: [{ kind: 'sequence', asns: [7] }] } };
    const bytes = encodeMessage(update, TWO);
    const decoded = decodeMessage(bytes, FOUR) as UpdateMessage;
    expect(decoded.attributes.as4Path).toBeUndefined();
    expect(decoded.problems?.map((p) => p.handling)).toContain('attribute-discard');
  });

  it('AS path length counts an AS_SET as one (RFC 4271 §9.1.2.2)', () => {
    expect(asPathLength(fullUpdate.attributes.asPath ?? [])).toBe(4);
  });
});

describe('OPEN negotiation', () => {
  const ours = buildOpen({ localAs: 65000, bgpIdentifier: 2, holdTimeSeconds: 30 });

  it('takes the smaller hold time and a keepalive of a third of it', () => {
    const theirs = buildOpen({ localAs: 64512, bgpIdentifier: 1, holdTimeSeconds: 90 });
    const session = negotiateSession(ours, theirs, 64512);
    expect(session.holdTimeSeconds).toBe(30);
    expect(session.keepaliveIntervalMs).toBe(10_000);
    expect(session.fourOctetAs).toBe(true);
    expect(session.routeRefresh).toBe(true);
    expect(session.gracefulRestart).toBe(false);
  });

  it('hold time 0 on either side means no keepalives', () => {
    const theirs = buildOpen({ localAs: 64512, bgpIdentifier: 1, holdTimeSeconds: 0 });
    expect(negotiateSession(ours, theirs, 64512)).toMatchObject({ holdTimeSeconds: 0, keepaliveIntervalMs: 0 });
  });

  it('a peer without capability 65 uses 2-octet AS numbers', () => {
    const theirs: OpenMessage = { type: 'open', version: 4, myAs: 7224, holdTimeSeconds: 30, bgpIdentifier: 1, capabilities: [] };
    expect(negotiateSession(ours, theirs, 7224).fourOctetAs).toBe(false);
  });
});

describe('packing advertisements into UPDATEs', () => {
  it('1,000 prefixes (a TGW) need more than one 4096-octet UPDATE; none is too big', () => {
    const nlri = Array.from({ length: 1000 }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.1/32`);
    const attributes = { origin: Origin.IGP, asPath: [{ kind: 'sequence' as const, asns: [65000] }], nextHop: '169.254.10.2' };
    const updates = packUpdates({ withdrawn: nlri.slice(0, 900), attributes, nlri }, FOUR);
    expect(updates.length).toBe(4); // 4,500 octets of withdrawals, then 5,000 of NLRI
    for (const u of updates) expect(encodeMessage(u, FOUR).length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(updates.flatMap((u) => u.nlri)).toEqual(nlri);
    expect(updates.flatMap((u) => u.withdrawn)).toEqual(nlri.slice(0, 900));
    expect(updates.filter((u) => u.withdrawn.length > 0).every((u) => Object.keys(u.attributes).length === 0)).toBe(true);
  });

  it('withdrawals only: no attributes at all', () => {
    const [u] = packUpdates({ withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] }, FOUR);
    expect(u).toEqual({ type: 'update', withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] });
  });
});

describe('prefixes', () => {
  it('NLRI bits past the prefix length are padding and ignored (RFC 4271 §4.3)', () => {
    // /15 written with the octets 10.1: the low bit of the second octet is not part of the prefix.
    const bytes = frame(2, updateBody('', Buffer.concat([ORIGIN_IGP, AS_PATH_64512_4, NEXT_HOP_1]), '0f 0a01'));
    expect((decodeMessage(bytes, FOUR) as UpdateMessage).nlri).toEqual(['10.0.0.0/15']);
  });

  it('splits a prefix into its two halves', () => {
    expect(splitPrefix('10.0.0.0/16')).toEqual(['10.0.0.0/17', '10.0.128.0/17']);
    expect(splitPrefix('0.0.0.0/0')).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
    expect(splitPrefix('10.0.0.1/32')).toBeUndefined();
  });

  it('attribute type codes are the RFC values', () => {
    expect([AttributeType.ORIGIN, AttributeType.AS_PATH, AttributeType.NEXT_HOP, AttributeType.MULTI_EXIT_DISC, AttributeType.COMMUNITIES]).toEqual([1, 2, 3, 4, 8]);
  });
});
