/** What every ISAKMP SA of one connection shares: the common context plus the IKEv1 proposals. */
import type { ConnectionContext } from '../../connection/context.js';
import type { Identity } from '../../identity.js';
import type { DhGroupNumber } from '../../../crypto/transforms.js';
import type { phase1Choices, phase2Choices } from '../proposals.js';
import type { IdPayload } from '../wire/payloads.js';

export interface V1Context extends ConnectionContext {
  readonly phase1: ReturnType<typeof phase1Choices>;
  readonly phase2: ReturnType<typeof phase2Choices>;
  /** PFS groups accepted in quick mode (empty: no PFS). */
  readonly pfsGroups: readonly DhGroupNumber[];
}

/** Phase 1 ID payload: Protocol ID and Port zero (RFC 2407 §4.6.2). */
export function phase1IdPayload(identity: Identity): IdPayload {
  return { kind: 'ID', idType: identity.idType, protocolId: 0, port: 0, data: identity.data };
}

export function hex(b: Buffer): string {
  return b.toString('hex');
}
