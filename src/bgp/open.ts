/**
 * OPEN (RFC 4271 §4.2) with the Capabilities Optional Parameter (RFC 5492 §4),
 * and the negotiation that turns our OPEN and the peer's into the session's
 * parameters. Decoder faults are the NOTIFICATION to send:
 *
 *   version ≠ 4                         2/1, data = 4 (the version we speak)
 *   hold time 1 or 2                    2/6
 *   BGP Identifier 0                    2/3 (RFC 6286 §2.2)
 *   Opt Parm Len ≠ what follows         1/2, data = the message Length (as GoBGP)
 *   parameter type other than 2         2/4
 *   a known capability malformed        2/0 (RFC 4271 §6.2: recognised but malformed → Unspecific)
 *   peer AS not the configured one      2/2 (from negotiateSession)
 */
import {
  AFI_IPV4,
  AS_TRANS,
  BGP_VERSION,
  CapabilityCode,
  ErrorCode,
  GR_FORWARDING_STATE_FLAG,
  GR_MAX_RESTART_TIME,
  GR_RESTART_STATE_FLAG,
  HEADER_LENGTH,
  HeaderErrorSubcode,
  KEEPALIVE_FRACTION_OF_HOLD,
  MAX_FOUR_OCTET_AS,
  MAX_HOLD_TIME_SECONDS,
  MAX_TWO_OCTET_AS,
  MIN_HOLD_TIME_SECONDS,
  OpenErrorSubcode,
  OptionalParameterType,
  SAFI_UNICAST,
  UNSPECIFIC_SUBCODE,
} from './constants.js';
import { CgwdError } from '../errors.js';
import { BgpMessageError, u16Data } from './errors.js';
import type { Capability, GracefulRestartFamily, OpenMessage } from './messages.js';
import { Reader, Writer } from '../wire/buffer.js';
import { formatAddress } from './prefix.js';

const OPEN_FIXED_LENGTH = 10; // Version(1) My AS(2) Hold Time(2) BGP Identifier(4) Opt Parm Len(1)
const MAX_OPTIONAL_PARAMETERS_LENGTH = 255;

function openError(subcode: number, message: string, data?: Buffer): BgpMessageError {
  return new BgpMessageError(ErrorCode.OPEN_MESSAGE, subcode, message, data ? { data } : {});
}

function lengthError(messageLength: number, message: string): BgpMessageError {
  return new BgpMessageError(ErrorCode.MESSAGE_HEADER, HeaderErrorSubcode.BAD_MESSAGE_LENGTH, message, { data: u16Data(messageLength) });
}

/** Decodes an OPEN body (the bytes after the 19-octet header). */
export function decodeOpen(body: Buffer): OpenMessage {
  const messageLength = body.length + HEADER_LENGTH;
  if (body.length < OPEN_FIXED_LENGTH) throw lengthError(messageLength, `OPEN of ${messageLength} octets is shorter than 29`);
  const r = new Reader(body, 0, body.length, 'BGP OPEN');
  const version = r.u8('Version');
  if (version !== BGP_VERSION) {
    throw openError(OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER, `peer speaks BGP version ${version}, not ${BGP_VERSION}`, u16Data(BGP_VERSION));
  }
  const myAs = r.u16('My Autonomous System');
  const holdTimeSeconds = r.u16('Hold Time');
  if (holdTimeSeconds === 1 || holdTimeSeconds === 2) {
    throw openError(OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTimeSeconds} s (must be 0 or at least ${MIN_HOLD_TIME_SECONDS})`);
  }
  const bgpIdentifier = r.u32('BGP Identifier');
  if (bgpIdentifier === 0) throw openError(OpenErrorSubcode.BAD_BGP_IDENTIFIER, 'BGP Identifier 0.0.0.0');
  const parametersLength = r.u8('Opt Parm Len');
  if (parametersLength !== r.remaining) {
    throw lengthError(messageLength, `Opt Parm Len ${parametersLength} but ${r.remaining} octets follow`);
  }
  const capabilities: Capability[] = [];
  while (!r.atEnd) {
    if (r.remaining < 2) throw lengthError(messageLength, 'optional parameter header truncated');
    const type = r.u8('Parm. Type');
    const length = r.u8('Parm. Length');
    if (length > r.remaining) throw lengthError(messageLength, `optional parameter of ${length} octets overruns Opt Parm Len`);
    const parameter = r.sub(length, 'optional parameter');
    if (type !== OptionalParameterType.CAPABILITIES) {
      throw openError(OpenErrorSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type} is not supported`);
    }
    decodeCapabilities(parameter, capabilities);
  }
  return { type: 'open', version, myAs, holdTimeSeconds, bgpIdentifier, capabilities };
}

function malformedCapability(message: string): BgpMessageError {
  return openError(UNSPECIFIC_SUBCODE, message);
}

function decodeCapabilities(r: Reader, into: Capability[]): void {
  while (!r.atEnd) {
    if (r.remaining < 2) throw malformedCapability('capability header truncated');
    const code = r.u8('Capability Code');
    const length = r.u8('Capability Length');
    if (length > r.remaining) throw malformedCapability(`capability ${code} of ${length} octets overruns its parameter`);
    const value = r.sub(length, `capability ${code}`);
    into.push(decodeCapability(code, length, value));
  }
}

function decodeCapability(code: number, length: number, value: Reader): Capability {
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL: {
      if (length !== 4) throw malformedCapability(`multiprotocol capability of ${length} octets (must be 4)`);
      const afi = value.u16('AFI');
      value.skip(1);
      return { kind: 'multiprotocol', afi, safi: value.u8('SAFI') };
    }
    case CapabilityCode.ROUTE_REFRESH:
      if (length !== 0) throw malformedCapability(`route refresh capability of ${length} octets (must be empty)`);
      return { kind: 'route-refresh' };
    case CapabilityCode.FOUR_OCTET_AS:
      if (length !== 4) throw malformedCapability(`4-octet AS capability of ${length} octets (must be 4)`);
      return { kind: 'four-octet-as', asn: value.u32('AS number') };
    case CapabilityCode.GRACEFUL_RESTART: {
      if (length < 2 || (length - 2) % 4 !== 0) throw malformedCapability(`graceful restart capability of ${length} octets`);
      const flagsAndTime = value.u16('Restart Flags/Time');
      const families: GracefulRestartFamily[] = [];
      while (!value.atEnd) {
        const afi = value.u16('AFI');
        const safi = value.u8('SAFI');
        const flags = value.u8('Flags for Address Family');
        families.push({ afi, safi, forwardingState: (flags & GR_FORWARDING_STATE_FLAG) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restartState: ((flagsAndTime >>> 12) & GR_RESTART_STATE_FLAG) !== 0,
        restartTimeSeconds: flagsAndTime & GR_MAX_RESTART_TIME,
        families,
      };
    }
    default:
      return { kind: 'unknown', code, value: value.rest() };
  }
}

function encodeCapability(w: Writer, capability: Capability): void {
  switch (capability.kind) {
    case 'multiprotocol':
      w.u8(CapabilityCode.MULTIPROTOCOL).u8(4).u16(capability.afi).u8(0).u8(capability.safi);
      return;
    case 'route-refresh':
      w.u8(CapabilityCode.ROUTE_REFRESH).u8(0);
      return;
    case 'four-octet-as':
      w.u8(CapabilityCode.FOUR_OCTET_AS).u8(4).u32(capability.asn);
      return;
    case 'graceful-restart': {
      if (capability.restartTimeSeconds > GR_MAX_RESTART_TIME) {
        throw new CgwdError('BGP_BAD_CONFIG', `graceful restart time ${capability.restartTimeSeconds} s exceeds ${GR_MAX_RESTART_TIME}`);
      }
      w.u8(CapabilityCode.GRACEFUL_RESTART).u8(2 + 4 * capability.families.length);
      w.u16(((capability.restartState ? GR_RESTART_STATE_FLAG : 0) << 12) | capability.restartTimeSeconds);
      for (const f of capability.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingState ? GR_FORWARDING_STATE_FLAG : 0);
      return;
    }
    case 'unknown':
      w.u8(capability.code).u8(capability.value.length).bytes(capability.value);
      return;
  }
}

/** Writes the OPEN body (after the header). Capabilities go in one Capabilities parameter. */
export function encodeOpenBody(w: Writer, open: OpenMessage): void {
  w.u8(open.version).u16(open.myAs).u16(open.holdTimeSeconds).u32(open.bgpIdentifier);
  const parametersLength = w.reserve(1);
  const parametersStart = w.length;
  if (open.capabilities.length > 0) {
    w.u8(OptionalParameterType.CAPABILITIES);
    const capabilitiesLength = w.reserve(1);
    const capabilitiesStart = w.length;
    for (const capability of open.capabilities) encodeCapability(w, capability);
    const length = w.lengthSince(capabilitiesStart);
    if (length > MAX_OPTIONAL_PARAMETERS_LENGTH - 2) {
      throw new CgwdError('BGP_BAD_CONFIG', `capabilities take ${length} octets, more than one optional parameter holds`);
    }
    w.patch(capabilitiesLength, length);
  }
  w.patch(parametersLength, w.lengthSince(parametersStart));
}

/** What this end puts in its OPEN. */
export interface LocalOpenConfig {
  readonly localAs: number;
  readonly bgpIdentifier: number;
  readonly holdTimeSeconds: number;
  /** Offer Graceful Restart (RFC 4724) only when set: some peers refuse a session that offers it. */
  readonly gracefulRestart?: { readonly restartTimeSeconds: number };
}

export function checkAsNumber(asn: number, what: string): void {
  if (!Number.isInteger(asn) || asn < 1 || asn > MAX_FOUR_OCTET_AS || asn === AS_TRANS) {
    throw new CgwdError('BGP_BAD_CONFIG', `${what} ${asn} is not a usable AS number`);
  }
}

/** Our OPEN: version 4, AS_TRANS in My AS when needed, 4-octet AS + IPv4 unicast + route refresh always. */
export function buildOpen(config: LocalOpenConfig): OpenMessage {
  checkAsNumber(config.localAs, 'local AS');
  const hold = config.holdTimeSeconds;
  if (!Number.isInteger(hold) || (hold !== 0 && (hold < MIN_HOLD_TIME_SECONDS || hold > MAX_HOLD_TIME_SECONDS))) {
    throw new CgwdError('BGP_BAD_CONFIG', `hold time ${hold} s (must be 0 or ${MIN_HOLD_TIME_SECONDS}..${MAX_HOLD_TIME_SECONDS})`);
  }
  const capabilities: Capability[] = [
    { kind: 'multiprotocol', afi: AFI_IPV4, safi: SAFI_UNICAST },
    { kind: 'route-refresh' },
    { kind: 'four-octet-as', asn: config.localAs },
  ];
  if (config.gracefulRestart) {
    capabilities.push({
      kind: 'graceful-restart',
      restartState: false,
      restartTimeSeconds: config.gracefulRestart.restartTimeSeconds,
      families: [{ afi: AFI_IPV4, safi: SAFI_UNICAST, forwardingState: false }],
    });
  }
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: config.localAs > MAX_TWO_OCTET_AS ? AS_TRANS : config.localAs,
    holdTimeSeconds: hold,
    bgpIdentifier: config.bgpIdentifier,
    capabilities,
  };
}

/** The parameters both OPENs agree on. */
export interface NegotiatedSession {
  readonly peerAs: number;
  readonly peerBgpIdentifier: number;
  /** min(ours, peer's); 0 means no Hold Timer and no KEEPALIVEs (RFC 4271 §4.2). */
  readonly holdTimeSeconds: number;
  /** One third of the hold time, in ms; 0 when the hold time is 0. */
  readonly keepaliveIntervalMs: number;
  /** Both sent capability 65: AS numbers are 4 octets in AS_PATH and AGGREGATOR (RFC 6793 §4.1). */
  readonly fourOctetAs: boolean;
  readonly routeRefresh: boolean;
  readonly gracefulRestart: boolean;
  readonly peerCapabilities: readonly Capability[];
}

function find<K extends Capability['kind']>(capabilities: readonly Capability[], kind: K): Extract<Capability, { kind: K }> | undefined {
  return capabilities.find((c): c is Extract<Capability, { kind: K }> => c.kind === kind);
}

/** The AS a peer claims: the 4-octet capability's value if present, else My AS (RFC 6793 §4.1). */
export function claimedAs(open: OpenMessage): number {
  return find(open.capabilities, 'four-octet-as')?.asn ?? open.myAs;
}

/**
 * Checks the peer's OPEN against what we expect (2/2 on an AS mismatch) and
 * derives the session parameters from both OPENs.
 */
export function negotiateSession(ours: OpenMessage, theirs: OpenMessage, expectedPeerAs: number): NegotiatedSession {
  const peerAs = claimedAs(theirs);
  if (peerAs !== expectedPeerAs) {
    throw openError(OpenErrorSubcode.BAD_PEER_AS, `peer says it is AS ${peerAs}, expected AS ${expectedPeerAs}`);
  }
  const holdTimeSeconds = Math.min(ours.holdTimeSeconds, theirs.holdTimeSeconds);
  const both = (kind: Capability['kind']): boolean => find(ours.capabilities, kind) !== undefined && find(theirs.capabilities, kind) !== undefined;
  return {
    peerAs,
    peerBgpIdentifier: theirs.bgpIdentifier,
    holdTimeSeconds,
    keepaliveIntervalMs: Math.floor((holdTimeSeconds * 1000) / KEEPALIVE_FRACTION_OF_HOLD),
    fourOctetAs: both('four-octet-as'),
    routeRefresh: both('route-refresh'),
    gracefulRestart: both('graceful-restart'),
    peerCapabilities: theirs.capabilities,
  };
}

/** "10.0.0.1" for a BGP Identifier. */
export function formatBgpIdentifier(identifier: number): string {
  return formatAddress(identifier);
}
