/** What every ISAKMP SA of one connection shares: configuration, proposals, runtime. */
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { TunnelConfig } from '../../../config/model.js';
import type { Secret } from '../../../config/secret.js';
import type { DhGroupNumber } from '../../../crypto/transforms.js';
import type { Clock, IkeTransport, RandomSource } from '../../runtime.js';
import { addressBytes } from '../../v2/index.js';
import type { IkeTiming, KeylogEntry, ProposalPolicy } from '../../v2/index.js';
import { IdType } from '../constants.js';
import type { phase1Choices, phase2Choices } from '../proposals.js';
import type { IdPayload } from '../wire/payloads.js';

export interface V1Context {
  readonly tunnel: TunnelConfig;
  readonly policy: ProposalPolicy;
  readonly phase1: ReturnType<typeof phase1Choices>;
  readonly phase2: ReturnType<typeof phase2Choices>;
  /** PFS groups accepted in quick mode (empty: no PFS). */
  readonly pfsGroups: readonly DhGroupNumber[];
  readonly psk: Secret;
  readonly localIdentity: Identity;
  readonly remoteIdentity: Identity | undefined;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly transport: IkeTransport;
  readonly timing: IkeTiming;
  readonly logger: Logger;
  readonly keylog: ((entry: KeylogEntry) => void) | undefined;
  /** Claim a NAT in NAT-D so the peer encapsulates ESP in UDP (design.md; strongSwan `encap = yes`). */
  readonly forceEncapsulation: boolean;
}

/** A phase 1 identity (RFC 2407 §4.6.2): an address literal as ID_IPV4_ADDR/ID_IPV6_ADDR, else ID_FQDN. */
export interface Identity {
  readonly idType: number;
  readonly data: Buffer;
}

export function identityFrom(text: string): Identity {
  if (isIPv4(text)) return { idType: IdType.ID_IPV4_ADDR, data: addressBytes(text) };
  if (isIPv6(text)) return { idType: IdType.ID_IPV6_ADDR, data: addressBytes(text) };
  return { idType: IdType.ID_FQDN, data: Buffer.from(text, 'ascii') };
}

/** Phase 1 ID payload: Protocol ID and Port zero (RFC 2407 §4.6.2). */
export function phase1IdPayload(identity: Identity): IdPayload {
  return { kind: 'ID', idType: identity.idType, protocolId: 0, port: 0, data: identity.data };
}

export function sameIdentity(a: Identity, b: IdPayload): boolean {
  return a.idType === b.idType && a.data.equals(b.data);
}

/** For logs: the identity as text (never key material). */
export function describeIdentity(id: { readonly idType: number; readonly data: Buffer }): string {
  if (id.idType === IdType.ID_IPV4_ADDR && id.data.length === 4) return [...id.data].join('.');
  if (id.idType === IdType.ID_FQDN) return id.data.toString('ascii').replace(/[^\x20-\x7e]/g, '?');
  return `id-type-${id.idType}(${id.data.length} bytes)`;
}

export function hex(b: Buffer): string {
  return b.toString('hex');
}

export function spiHex(spi: number): string {
  return (spi >>> 0).toString(16).padStart(8, '0');
}

export function describeError(error: unknown): { code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? { code, message: error.message } : { message: error.message };
  }
  return { message: String(error) };
}
