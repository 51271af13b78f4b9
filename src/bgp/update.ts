/**
 * UPDATE (RFC 4271 §4.3): Withdrawn Routes, Path Attributes, NLRI.
 *
 * Decoding is in three layers, and each fault is classified twice: by the
 * NOTIFICATION RFC 4271 §6.3 prescribes (code 3, subcode, data) and by the
 * RFC 7606 approach that replaces the session reset where the routes can still
 * be located:
 *
 *   lengths that cannot frame the three fields        3/1  session reset   (7606 §4)
 *   a Withdrawn/NLRI prefix longer than 32 or cut     3/10 session reset   (7606 §5.3)
 *   attribute header cut / length overruns the block  3/5  treat-as-withdraw (7606 §4)
 *   MP_REACH/MP_UNREACH twice                         3/1  session reset   (7606 §3(g))
 *   any other attribute twice                         3/1  later ones discarded (7606 §3(g))
 *   Optional/Transitive bits wrong                    3/4  treat-as-withdraw (7606 §3(c))
 *   unrecognised well-known attribute                 3/2  session reset
 *   ORIGIN length / value                             3/5, 3/6 treat-as-withdraw (7606 §7.1)
 *   AS_PATH malformed, or leftmost AS not the peer's  3/11 treat-as-withdraw (7606 §7.2)
 *   NEXT_HOP length / not a host address              3/5, 3/8 treat-as-withdraw (7606 §7.3)
 *   MED length                                        3/5  treat-as-withdraw (7606 §7.4)
 *   LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR length   3/5  attribute discard (7606 §7.5–§7.7)
 *   COMMUNITIES not a non-zero multiple of 4          3/9  treat-as-withdraw (7606 §7.8)
 *   MP_REACH/MP_UNREACH malformed                     3/9  session reset   (7606 §7.11)
 *   AS4_PATH/AS4_AGGREGATOR malformed or from a 4-octet speaker: discarded (RFC 6793 §4.1, §6)
 *   ORIGIN/AS_PATH/NEXT_HOP missing with NLRI         3/3  treat-as-withdraw (7606 §3(d))
 *   any non-discard fault and no NLRI at all          session reset (7606 §5.2)
 *
 * With `revisedErrorHandling: false` every fault is thrown as its RFC 4271
 * NOTIFICATION, the first one found; otherwise session resets are thrown and
 * the rest are returned on `problems`.
 */
import {
  AFI_IPV4,
  AS_TRANS,
  AsPathSegmentType,
  AttributeFlag,
  AttributeType,
  ErrorCode,
  EXPECTED_ATTRIBUTE_FLAGS,
  HEADER_LENGTH,
  MAX_ASNS_PER_SEGMENT,
  MAX_MESSAGE_LENGTH,
  MAX_TWO_OCTET_AS,
  Origin,
  SAFI_UNICAST,
  UpdateErrorSubcode,
} from './constants.js';
import { BgpMessageError, type ErrorHandling, type UpdateProblem } from './errors.js';
import type { Aggregator, AsPathSegment, PathAttributes, RawAttribute, UpdateMessage } from './messages.js';
import { encodedPrefixLength, formatAddress, formatPrefix, parseAddress, parsePrefix, prefixMask } from './prefix.js';
import { Reader, Writer } from '../wire/buffer.js';

export interface UpdateCodecContext {
  /** Both OPENs carried capability 65: AS numbers are 4 octets in AS_PATH and AGGREGATOR (RFC 6793 §4.1). */
  readonly fourOctetAs: boolean;
  /** For an eBGP peer: the leftmost AS of every AS_PATH must be this (RFC 4271 §6.3). */
  readonly peerAs?: number;
  /** RFC 7606 (default). False: every fault resets the session as RFC 4271 §6.3 says. */
  readonly revisedErrorHandling?: boolean;
}

const UPDATE_FIXED_LENGTH = 4; // Withdrawn Routes Length(2) + Total Path Attribute Length(2)
const KNOWN_ATTRIBUTE_TYPES: ReadonlySet<number> = new Set(Object.values(AttributeType));

function updateError(subcode: number, message: string, data?: Buffer, handling: ErrorHandling = 'session-reset'): BgpMessageError {
  return new BgpMessageError(ErrorCode.UPDATE_MESSAGE, subcode, message, { handling, ...(data ? { data } : {}) });
}

/** Collects faults; throws the ones that must reset the session (all of them without RFC 7606). */
class FaultLog {
  readonly problems: UpdateProblem[] = [];
  constructor(private readonly revised: boolean) {}

  report(subcode: number, message: string, handling: ErrorHandling, data?: Buffer): void {
    const error = updateError(subcode, message, data, this.revised ? handling : 'session-reset');
    if (!this.revised || handling === 'session-reset') throw error;
    this.problems.push({ error, handling });
  }

  /** Discards that RFC 6793 mandates whatever the error-handling mode. */
  discard(message: string, data?: Buffer): void {
    this.problems.push({ error: updateError(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, message, data, 'attribute-discard'), handling: 'attribute-discard' });
  }
}

// ---------------------------------------------------------------- prefixes

/** Decodes a Withdrawn Routes or NLRI field; any fault is 3/10 (RFC 4271 §6.3, RFC 7606 §5.3). */
function decodePrefixes(r: Reader, field: string): string[] {
  const prefixes: string[] = [];
  while (!r.atEnd) {
    const length = r.u8('prefix length');
    if (length > 32) throw updateError(UpdateErrorSubcode.INVALID_NETWORK_FIELD, `${field}: prefix length ${length}`);
    const octets = Math.ceil(length / 8);
    if (octets > r.remaining) throw updateError(UpdateErrorSubcode.INVALID_NETWORK_FIELD, `${field}: /${length} needs ${octets} octets, ${r.remaining} left`);
    let network = 0;
    for (let i = 0; i < 4; i++) network = (network << 8) | (i < octets ? r.u8('prefix octet') : 0);
    // Bits past the prefix length are padding and are ignored (RFC 4271 §4.3).
    prefixes.push(formatPrefix({ network: (network & prefixMask(length)) >>> 0, length }));
  }
  return prefixes;
}

function encodePrefixes(w: Writer, prefixes: readonly string[]): void {
  for (const text of prefixes) {
    const prefix = parsePrefix(text);
    w.u8(prefix.length);
    for (let i = 0; i < encodedPrefixLength(prefix) - 1; i++) w.u8((prefix.network >>> (24 - 8 * i)) & 0xff);
  }
}

// ---------------------------------------------------------------- AS paths

interface WireSegment {
  readonly type: number;
  readonly asns: number[];
}

const SEGMENT_TYPES: ReadonlySet<number> = new Set(Object.values(AsPathSegmentType));

/** Parses AS_PATH/AS4_PATH segments; undefined when malformed (RFC 7606 §7.2: unknown type, zero length, overrun, underrun). */
function parseSegments(value: Buffer, asnOctets: 2 | 4): WireSegment[] | undefined {
  const r = new Reader(value, 0, value.length, 'AS_PATH');
  const segments: WireSegment[] = [];
  while (!r.atEnd) {
    if (r.remaining < 2) return undefined;
    const type = r.u8('Path Segment Type');
    const count = r.u8('Path Segment Length');
    if (!SEGMENT_TYPES.has(type) || count === 0 || count * asnOctets > r.remaining) return undefined;
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(asnOctets === 4 ? r.u32('AS') : r.u16('AS'));
    segments.push({ type, asns });
  }
  return segments;
}

const isConfederationSegment = (s: WireSegment): boolean => s.type === AsPathSegmentType.AS_CONFED_SEQUENCE || s.type === AsPathSegmentType.AS_CONFED_SET;

function toAsPath(segments: readonly WireSegment[]): AsPathSegment[] {
  return segments.map((s) => ({ kind: s.type === AsPathSegmentType.AS_SET ? 'set' : 'sequence', asns: s.asns }));
}

function encodeAsPathValue(segments: readonly AsPathSegment[], asnOctets: 2 | 4): Buffer {
  const w = new Writer(64, MAX_MESSAGE_LENGTH);
  for (const segment of segments) {
    if (segment.asns.length === 0 || segment.asns.length > MAX_ASNS_PER_SEGMENT) {
      throw updateError(UpdateErrorSubcode.MALFORMED_AS_PATH, `cannot encode an AS_PATH segment of ${segment.asns.length} ASes`);
    }
    w.u8(segment.kind === 'set' ? AsPathSegmentType.AS_SET : AsPathSegmentType.AS_SEQUENCE).u8(segment.asns.length);
    for (const asn of segment.asns) {
      if (asnOctets === 4) w.u32(asn);
      else w.u16(asn > MAX_TWO_OCTET_AS ? AS_TRANS : asn);
    }
  }
  return w.finish();
}

/** AS_SET counts as one, every AS of an AS_SEQUENCE as one each (RFC 4271 §9.1.2.2 (a)). */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  return segments.reduce((n, s) => n + (s.kind === 'set' ? 1 : s.asns.length), 0);
}

/**
 * The AS path a route really has. From a 2-octet-only peer, AS_PATH holds
 * AS_TRANS where a 4-octet AS stood and AS4_PATH holds the tail with the real
 * numbers: keep the leading (count difference) ASes of AS_PATH and append
 * AS4_PATH; if AS4_PATH is longer, ignore it (RFC 6793 §4.2.3).
 */
export function effectiveAsPath(attributes: PathAttributes): readonly AsPathSegment[] {
  const asPath = attributes.asPath ?? [];
  const as4Path = attributes.as4Path;
  if (!as4Path) return asPath;
  if (attributes.aggregator && attributes.as4Aggregator && attributes.aggregator.asn !== AS_TRANS) return asPath;
  let keep = asPathLength(asPath) - asPathLength(as4Path);
  if (keep < 0) return asPath;
  const merged: AsPathSegment[] = [];
  for (const segment of asPath) {
    if (keep <= 0) break;
    if (segment.kind === 'set') {
      merged.push(segment);
      keep -= 1;
    } else {
      const take = segment.asns.slice(0, keep);
      merged.push({ kind: 'sequence', asns: take });
      keep -= take.length;
    }
  }
  return [...merged, ...as4Path];
}

export function flattenAsPath(segments: readonly AsPathSegment[]): number[] {
  return segments.flatMap((s) => [...s.asns]);
}

// ---------------------------------------------------------------- attributes

/**
 * NEXT_HOP must be a valid host address (RFC 4271 §6.3): not in 0/8 and not
 * multicast, reserved (class E) or broadcast. Semantic faults (our own
 * address) are not syntax errors; the speaker ignores those routes.
 */
export function isUsableNextHop(address: number): boolean {
  const first = address >>> 24;
  return first !== 0 && first < 224;
}

type MutableAttributes = { -readonly [K in keyof PathAttributes]: PathAttributes[K] };

function decodeAggregator(value: Buffer, asnOctets: 2 | 4): Aggregator {
  const r = new Reader(value, 0, value.length, 'AGGREGATOR');
  const asn = asnOctets === 4 ? r.u32('AS') : r.u16('AS');
  return { asn, address: formatAddress(r.u32('address')) };
}

function decodeMpReach(value: Buffer, raw: Buffer): { afi: number; safi: number; nextHop?: string; nlri: string[] } {
  // AFI(2) SAFI(1) Next Hop Length(1) Next Hop Reserved(1) NLRI (RFC 4760 §3)
  if (value.length < 5) throw updateError(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, `MP_REACH_NLRI of ${value.length} octets`, raw);
  const r = new Reader(value, 0, value.length, 'MP_REACH_NLRI');
  const afi = r.u16('AFI');
  const safi = r.u8('SAFI');
  const nextHopLength = r.u8('Length of Next Hop');
  if (nextHopLength + 1 > r.remaining) throw updateError(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, `MP_REACH_NLRI next hop of ${nextHopLength} octets overruns it`, raw);
  if (afi !== AFI_IPV4 || safi !== SAFI_UNICAST) return { afi, safi, nlri: [] };
  if (nextHopLength !== 4) throw updateError(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, `IPv4 unicast MP_REACH_NLRI next hop of ${nextHopLength} octets`, raw);
  const nextHop = formatAddress(r.u32('Next Hop'));
  r.skip(1);
  return { afi, safi, nextHop, nlri: decodePrefixes(r, 'MP_REACH_NLRI') };
}

function decodeMpUnreach(value: Buffer, raw: Buffer): { afi: number; safi: number; withdrawn: string[] } {
  // AFI(2) SAFI(1) Withdrawn Routes (RFC 4760 §4)
  if (value.length < 3) throw updateError(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, `MP_UNREACH_NLRI of ${value.length} octets`, raw);
  const r = new Reader(value, 0, value.length, 'MP_UNREACH_NLRI');
  const afi = r.u16('AFI');
  const safi = r.u8('SAFI');
  if (afi !== AFI_IPV4 || safi !== SAFI_UNICAST) return { afi, safi, withdrawn: [] };
  return { afi, safi, withdrawn: decodePrefixes(r, 'MP_UNREACH_NLRI') };
}

/** Decodes one recognised attribute whose flags were already checked. */
function decodeKnownAttribute(type: number, value: Buffer, raw: Buffer, ctx: UpdateCodecContext, faults: FaultLog, out: MutableAttributes): void {
  const asnOctets = ctx.fourOctetAs ? 4 : 2;
  const length = value.length;
  const lengthFault = (name: string, expected: string, handling: ErrorHandling): void =>
    faults.report(UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR, `${name} of ${length} octets (must be ${expected})`, handling, raw);
  switch (type) {
    case AttributeType.ORIGIN: {
      if (length !== 1) return lengthFault('ORIGIN', '1', 'treat-as-withdraw');
      const origin = value.readUInt8(0);
      if (origin !== Origin.IGP && origin !== Origin.EGP && origin !== Origin.INCOMPLETE) {
        return faults.report(UpdateErrorSubcode.INVALID_ORIGIN_ATTRIBUTE, `ORIGIN ${origin} is undefined`, 'treat-as-withdraw', raw);
      }
      out.origin = origin;
      return;
    }
    case AttributeType.AS_PATH: {
      const wire = parseSegments(value, asnOctets);
      // Confederation segments from a peer outside our confederation make the path malformed (RFC 5065).
      if (!wire || wire.some(isConfederationSegment)) return faults.report(UpdateErrorSubcode.MALFORMED_AS_PATH, 'AS_PATH is malformed', 'treat-as-withdraw');
      const segments = toAsPath(wire);
      if (ctx.peerAs !== undefined) {
        const expected = asnOctets === 2 && ctx.peerAs > MAX_TWO_OCTET_AS ? AS_TRANS : ctx.peerAs;
        const first = segments[0];
        if (!first || first.kind !== 'sequence' || first.asns[0] !== expected) {
          return faults.report(UpdateErrorSubcode.MALFORMED_AS_PATH, `AS_PATH does not start with the peer's AS ${expected}`, 'treat-as-withdraw');
        }
      }
      out.asPath = segments;
      return;
    }
    case AttributeType.NEXT_HOP: {
      if (length !== 4) return lengthFault('NEXT_HOP', '4', 'treat-as-withdraw');
      const address = value.readUInt32BE(0);
      if (!isUsableNextHop(address)) {
        return faults.report(UpdateErrorSubcode.INVALID_NEXT_HOP_ATTRIBUTE, `NEXT_HOP ${formatAddress(address)} is not a host address`, 'treat-as-withdraw', raw);
      }
      out.nextHop = formatAddress(address);
      return;
    }
    case AttributeType.MULTI_EXIT_DISC:
      if (length !== 4) return lengthFault('MULTI_EXIT_DISC', '4', 'treat-as-withdraw');
      out.multiExitDisc = value.readUInt32BE(0);
      return;
    case AttributeType.LOCAL_PREF:
      // From an external peer it is ignored anyway (RFC 4271 §5.1.5), so a bad one is simply dropped (RFC 7606 §7.5).
      if (length !== 4) return lengthFault('LOCAL_PREF', '4', 'attribute-discard');
      out.localPref = value.readUInt32BE(0);
      return;
    case AttributeType.ATOMIC_AGGREGATE:
      if (length !== 0) return lengthFault('ATOMIC_AGGREGATE', '0', 'attribute-discard');
      out.atomicAggregate = true;
      return;
    case AttributeType.AGGREGATOR:
      if (length !== asnOctets + 4) return lengthFault('AGGREGATOR', String(asnOctets + 4), 'attribute-discard');
      out.aggregator = decodeAggregator(value, asnOctets);
      return;
    case AttributeType.COMMUNITIES:
      if (length === 0 || length % 4 !== 0) {
        return faults.report(UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR, `COMMUNITIES of ${length} octets (must be a non-zero multiple of 4)`, 'treat-as-withdraw', raw);
      }
      out.communities = Buffer.from(value);
      return;
    case AttributeType.MP_REACH_NLRI: {
      const reach = decodeMpReach(value, raw);
      if (reach.nextHop !== undefined) out.mpReach = { nextHop: reach.nextHop, nlri: reach.nlri };
      return;
    }
    case AttributeType.MP_UNREACH_NLRI: {
      const unreach = decodeMpUnreach(value, raw);
      if (unreach.afi === AFI_IPV4 && unreach.safi === SAFI_UNICAST) out.mpUnreach = { withdrawn: unreach.withdrawn };
      return;
    }
    case AttributeType.AS4_PATH: {
      if (ctx.fourOctetAs) return faults.discard('AS4_PATH from a 4-octet AS speaker', raw);
      const wire = parseSegments(value, 4);
      if (!wire) return faults.discard('AS4_PATH is malformed', raw);
      // Confederation segments never belong in AS4_PATH; drop them and go on (RFC 6793 §6).
      out.as4Path = toAsPath(wire.filter((segment) => !isConfederationSegment(segment)));
      return;
    }
    case AttributeType.AS4_AGGREGATOR:
      if (ctx.fourOctetAs) return faults.discard('AS4_AGGREGATOR from a 4-octet AS speaker', raw);
      if (length !== 8) return faults.discard(`AS4_AGGREGATOR of ${length} octets (must be 8)`, raw);
      out.as4Aggregator = decodeAggregator(value, 4);
      return;
  }
}

function decodeAttributes(body: Buffer, start: number, end: number, ctx: UpdateCodecContext, faults: FaultLog): { attributes: PathAttributes; present: Set<number> } {
  const r = new Reader(body, start, end, 'Path Attributes');
  const out: MutableAttributes = {};
  const other: RawAttribute[] = [];
  const present = new Set<number>();
  while (!r.atEnd) {
    const attributeStart = r.absoluteOffset;
    const restOfBlock = (): Buffer => Buffer.from(body.subarray(attributeStart, end));
    if (r.remaining < 3) {
      faults.report(UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR, `${r.remaining} octets cannot hold an attribute header`, 'treat-as-withdraw', restOfBlock());
      break;
    }
    const flags = r.u8('Attr. Flags');
    const type = r.u8('Attr. Type Code');
    const extended = (flags & AttributeFlag.EXTENDED_LENGTH) !== 0;
    if (extended && r.remaining < 2) {
      faults.report(UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR, 'extended attribute length cut short', 'treat-as-withdraw', restOfBlock());
      break;
    }
    const length = extended ? r.u16('Attr. Length') : r.u8('Attr. Length');
    if (length > r.remaining) {
      faults.report(UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR, `attribute ${type} of ${length} octets overruns the ${r.remaining} left`, 'treat-as-withdraw', restOfBlock());
      break;
    }
    const value = r.bytes(length, `attribute ${type}`);
    const raw = Buffer.from(body.subarray(attributeStart, r.absoluteOffset));
    if (present.has(type)) {
      const mp = type === AttributeType.MP_REACH_NLRI || type === AttributeType.MP_UNREACH_NLRI;
      faults.report(UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, `attribute ${type} appears twice`, mp ? 'session-reset' : 'attribute-discard');
      continue;
    }
    present.add(type);
    if (KNOWN_ATTRIBUTE_TYPES.has(type)) {
      const expected = EXPECTED_ATTRIBUTE_FLAGS[type as AttributeType];
      if ((flags & (AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE)) !== expected) {
        const mp = type === AttributeType.MP_REACH_NLRI || type === AttributeType.MP_UNREACH_NLRI;
        faults.report(UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR, `attribute ${type} has flags 0x${flags.toString(16)}`, mp ? 'session-reset' : 'treat-as-withdraw', raw);
        continue;
      }
      decodeKnownAttribute(type, value, raw, ctx, faults, out);
    } else if ((flags & AttributeFlag.OPTIONAL) === 0) {
      faults.report(UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, `well-known attribute ${type} is not recognised`, 'session-reset', raw);
    } else if ((flags & AttributeFlag.TRANSITIVE) !== 0) {
      // Unrecognised optional transitive: kept, and marked Partial if passed on (RFC 4271 §5).
      other.push({ flags: flags & ~AttributeFlag.EXTENDED_LENGTH & 0xf0, typeCode: type, value });
    }
    // Unrecognised optional non-transitive: quietly ignored (RFC 4271 §5).
  }
  if (other.length > 0) out.other = other;
  return { attributes: out, present };
}

/** Decodes an UPDATE body (the bytes after the 19-octet header). */
export function decodeUpdate(body: Buffer, ctx: UpdateCodecContext): UpdateMessage {
  const faults = new FaultLog(ctx.revisedErrorHandling ?? true);
  if (body.length < UPDATE_FIXED_LENGTH) throw updateError(UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, 'UPDATE shorter than its two length fields');
  const withdrawnLength = body.readUInt16BE(0);
  if (2 + withdrawnLength + 2 > body.length) {
    throw updateError(UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, `Withdrawn Routes Length ${withdrawnLength} overruns the message`);
  }
  const attributesStart = 2 + withdrawnLength + 2;
  const attributesLength = body.readUInt16BE(2 + withdrawnLength);
  if (attributesStart + attributesLength > body.length) {
    throw updateError(UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, `Total Path Attribute Length ${attributesLength} overruns the message`);
  }
  const withdrawn = decodePrefixes(new Reader(body, 2, 2 + withdrawnLength, 'Withdrawn Routes'), 'Withdrawn Routes');
  const { attributes, present } = decodeAttributes(body, attributesStart, attributesStart + attributesLength, ctx, faults);
  const nlri = decodePrefixes(new Reader(body, attributesStart + attributesLength, body.length, 'NLRI'), 'NLRI');

  const announces = nlri.length > 0 || (attributes.mpReach?.nlri.length ?? 0) > 0;
  if (announces) {
    const mandatory = [AttributeType.ORIGIN, AttributeType.AS_PATH, ...(nlri.length > 0 ? [AttributeType.NEXT_HOP] : [])];
    for (const type of mandatory) {
      if (!present.has(type)) {
        faults.report(UpdateErrorSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, `well-known attribute ${type} is missing`, 'treat-as-withdraw', Buffer.from([type]));
      }
    }
  } else if (attributesLength > 0) {
    // Attributes but nothing they apply to: the NLRI may not have been located right (RFC 7606 §5.2).
    const serious = faults.problems.find((p) => p.handling !== 'attribute-discard');
    if (serious) {
      throw new BgpMessageError(serious.error.errorCode, serious.error.errorSubcode, `${serious.error.message}; no NLRI to withdraw`, {
        data: serious.error.data,
        handling: 'session-reset',
      });
    }
  }
  const message: UpdateMessage = { type: 'update', withdrawn, attributes, nlri };
  return faults.problems.length > 0 ? { ...message, problems: faults.problems } : message;
}

// ---------------------------------------------------------------- encoding

function writeAttribute(w: Writer, flags: number, type: number, value: Buffer): void {
  const extended = value.length > 0xff;
  w.u8((flags & 0xf0 & ~AttributeFlag.EXTENDED_LENGTH) | (extended ? AttributeFlag.EXTENDED_LENGTH : 0)).u8(type);
  if (extended) w.u16(value.length);
  else w.u8(value.length);
  w.bytes(value);
}

function u32Value(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

function addressValue(address: string, what: string): Buffer {
  const value = parseAddress(address);
  if (value === undefined) throw updateError(UpdateErrorSubcode.INVALID_NEXT_HOP_ATTRIBUTE, `${what} "${address}" is not an IPv4 address`);
  return u32Value(value);
}

function aggregatorValue(aggregator: Aggregator, asnOctets: 2 | 4): Buffer {
  const w = new Writer(8, 8);
  if (asnOctets === 4) w.u32(aggregator.asn);
  else w.u16(aggregator.asn > MAX_TWO_OCTET_AS ? AS_TRANS : aggregator.asn);
  w.bytes(addressValue(aggregator.address, 'AGGREGATOR address'));
  return w.finish();
}

const flagsOf = (type: AttributeType): number => EXPECTED_ATTRIBUTE_FLAGS[type];

/**
 * Writes the Path Attributes in type-code order. Towards a 2-octet-only peer,
 * AS numbers above 65535 become AS_TRANS and the real path goes in AS4_PATH
 * (RFC 6793 §4.2.2).
 */
export function encodeAttributes(w: Writer, a: PathAttributes, ctx: UpdateCodecContext): void {
  const asnOctets = ctx.fourOctetAs ? 4 : 2;
  if (a.origin !== undefined) writeAttribute(w, flagsOf(AttributeType.ORIGIN), AttributeType.ORIGIN, Buffer.from([a.origin]));
  if (a.asPath !== undefined) writeAttribute(w, flagsOf(AttributeType.AS_PATH), AttributeType.AS_PATH, encodeAsPathValue(a.asPath, asnOctets));
  if (a.nextHop !== undefined) writeAttribute(w, flagsOf(AttributeType.NEXT_HOP), AttributeType.NEXT_HOP, addressValue(a.nextHop, 'NEXT_HOP'));
  if (a.multiExitDisc !== undefined) writeAttribute(w, flagsOf(AttributeType.MULTI_EXIT_DISC), AttributeType.MULTI_EXIT_DISC, u32Value(a.multiExitDisc));
  if (a.localPref !== undefined) writeAttribute(w, flagsOf(AttributeType.LOCAL_PREF), AttributeType.LOCAL_PREF, u32Value(a.localPref));
  if (a.atomicAggregate) writeAttribute(w, flagsOf(AttributeType.ATOMIC_AGGREGATE), AttributeType.ATOMIC_AGGREGATE, Buffer.alloc(0));
  if (a.aggregator !== undefined) writeAttribute(w, flagsOf(AttributeType.AGGREGATOR), AttributeType.AGGREGATOR, aggregatorValue(a.aggregator, asnOctets));
  if (a.communities !== undefined) writeAttribute(w, flagsOf(AttributeType.COMMUNITIES), AttributeType.COMMUNITIES, a.communities);
  if (a.mpReach !== undefined) {
    const v = new Writer(64, MAX_MESSAGE_LENGTH);
    v.u16(AFI_IPV4).u8(SAFI_UNICAST).u8(4).bytes(addressValue(a.mpReach.nextHop, 'MP_REACH_NLRI next hop')).u8(0);
    encodePrefixes(v, a.mpReach.nlri);
    writeAttribute(w, flagsOf(AttributeType.MP_REACH_NLRI), AttributeType.MP_REACH_NLRI, v.finish());
  }
  if (a.mpUnreach !== undefined) {
    const v = new Writer(64, MAX_MESSAGE_LENGTH);
    v.u16(AFI_IPV4).u8(SAFI_UNICAST);
    encodePrefixes(v, a.mpUnreach.withdrawn);
    writeAttribute(w, flagsOf(AttributeType.MP_UNREACH_NLRI), AttributeType.MP_UNREACH_NLRI, v.finish());
  }
  if (!ctx.fourOctetAs) {
    const as4Path = a.as4Path ?? (a.asPath && flattenAsPath(a.asPath).some((asn) => asn > MAX_TWO_OCTET_AS) ? a.asPath : undefined);
    if (as4Path) writeAttribute(w, flagsOf(AttributeType.AS4_PATH), AttributeType.AS4_PATH, encodeAsPathValue(as4Path, 4));
    const as4Aggregator = a.as4Aggregator ?? (a.aggregator && a.aggregator.asn > MAX_TWO_OCTET_AS ? a.aggregator : undefined);
    if (as4Aggregator) writeAttribute(w, flagsOf(AttributeType.AS4_AGGREGATOR), AttributeType.AS4_AGGREGATOR, aggregatorValue(as4Aggregator, 4));
  }
  for (const raw of a.other ?? []) writeAttribute(w, raw.flags, raw.typeCode, raw.value);
}

/** Writes the UPDATE body (after the header). Throws a TOO_LARGE WireError past 4096 octets in all. */
export function encodeUpdateBody(w: Writer, update: UpdateMessage, ctx: UpdateCodecContext): void {
  const withdrawnLength = w.reserve(2);
  const withdrawnStart = w.length;
  encodePrefixes(w, update.withdrawn);
  w.patch(withdrawnLength, w.lengthSince(withdrawnStart));
  const attributesLength = w.reserve(2);
  const attributesStart = w.length;
  encodeAttributes(w, update.attributes, ctx);
  w.patch(attributesLength, w.lengthSince(attributesStart));
  encodePrefixes(w, update.nlri);
}

/** Octets the Path Attributes take once encoded. */
export function encodedAttributesLength(attributes: PathAttributes, ctx: UpdateCodecContext): number {
  const w = new Writer(256, MAX_MESSAGE_LENGTH);
  encodeAttributes(w, attributes, ctx);
  return w.length;
}

/**
 * Splits withdrawals and announcements into as few UPDATEs as fit in 4096
 * octets each: withdrawals first (in UPDATEs without attributes), then the
 * announcements sharing `attributes`.
 */
export function packUpdates(change: { withdrawn: readonly string[]; attributes: PathAttributes; nlri: readonly string[] }, ctx: UpdateCodecContext): UpdateMessage[] {
  const budget = MAX_MESSAGE_LENGTH - HEADER_LENGTH - UPDATE_FIXED_LENGTH;
  const chunk = (prefixes: readonly string[], room: number): string[][] => {
    const chunks: string[][] = [];
    let current: string[] = [];
    let used = 0;
    for (const prefix of prefixes) {
      const size = encodedPrefixLength(parsePrefix(prefix));
      if (used + size > room && current.length > 0) {
        chunks.push(current);
        current = [];
        used = 0;
      }
      current.push(prefix);
      used += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  };
  const updates: UpdateMessage[] = chunk(change.withdrawn, budget).map((withdrawn) => ({ type: 'update', withdrawn, attributes: {}, nlri: [] }));
  if (change.nlri.length > 0) {
    const room = budget - encodedAttributesLength(change.attributes, ctx);
    for (const nlri of chunk(change.nlri, room)) updates.push({ type: 'update', withdrawn: [], attributes: change.attributes, nlri });
  }
  return updates;
}
