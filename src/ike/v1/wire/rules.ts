/**
 * Which payloads each IKEv1 message may carry, checked before any task looks at it (in the
 * manner of strongSwan's encoding/message.c payload rules). Counts are per message; payload
 * types not listed are refused. A failure carries the notify type RFC 2408 §5 names for it.
 *
 *   Main Mode (RFC 2409 §5, RFC 3947 §3)   Quick Mode (RFC 2409 §5.5)     Informational (§5.7)
 *   MM1 SA, VID*                           QM1 HASH SA Ni [KE] [IDci IDcr] HASH (N | D)+
 *   MM2 SA, VID*                           QM2 HASH SA Nr [KE] [IDci IDcr] plain: N+ (phase 1 errors)
 *   MM3 KE Ni [NAT-D NAT-D+], VID*         QM3 HASH
 *   MM4 KE Nr [NAT-D NAT-D+], VID*
 *   MM5 IDii HASH_I, N*, VID*  (encrypted)
 *   MM6 IDir HASH_R, N*, VID*  (encrypted)
 *
 * The SA payload comes first in phase 1 (RFC 2409 §5), HASH first in every protected phase 2
 * message (§5.5, §5.7). NAT-OA (RFC 3947 §5.2) is accepted in quick mode (0..2).
 */
import { NotifyType, PayloadType, payloadTypeName } from '../constants.js';
import type { ChainEntry } from './payloads.js';

export type MessageKind = 'MM1' | 'MM2' | 'MM3' | 'MM4' | 'MM5' | 'MM6' | 'QM1' | 'QM2' | 'QM3' | 'INFO' | 'INFO_PLAIN';

interface Count {
  readonly min: number;
  readonly max: number;
}

interface MessageRule {
  readonly counts: Readonly<Partial<Record<number, Count>>>;
  readonly first?: number;
  /** ID payloads: none or exactly two (IDci, IDcr) (RFC 2409 §5.5). */
  readonly idsNoneOrTwo?: boolean;
  /** At least one Notification or Delete. */
  readonly someNotifyOrDelete?: boolean;
}

const ONE: Count = { min: 1, max: 1 };
const OPTIONAL: Count = { min: 0, max: 1 };
const VIDS: Count = { min: 0, max: 16 };
const NOTIFIES: Count = { min: 0, max: 8 };

const QM_OFFER: MessageRule = {
  first: PayloadType.HASH,
  counts: {
    [PayloadType.HASH]: ONE,
    [PayloadType.SA]: ONE,
    [PayloadType.NONCE]: ONE,
    [PayloadType.KE]: OPTIONAL,
    [PayloadType.ID]: { min: 0, max: 2 },
    [PayloadType.NAT_OA]: { min: 0, max: 2 },
    [PayloadType.NOTIFICATION]: NOTIFIES,
  },
  idsNoneOrTwo: true,
};

export const MESSAGE_RULES: Readonly<Record<MessageKind, MessageRule>> = {
  MM1: { first: PayloadType.SA, counts: { [PayloadType.SA]: ONE, [PayloadType.VENDOR_ID]: VIDS, [PayloadType.NOTIFICATION]: NOTIFIES } },
  MM2: { first: PayloadType.SA, counts: { [PayloadType.SA]: ONE, [PayloadType.VENDOR_ID]: VIDS, [PayloadType.NOTIFICATION]: NOTIFIES } },
  MM3: {
    counts: { [PayloadType.KE]: ONE, [PayloadType.NONCE]: ONE, [PayloadType.NAT_D]: { min: 0, max: 8 }, [PayloadType.VENDOR_ID]: VIDS, [PayloadType.NOTIFICATION]: NOTIFIES },
  },
  MM4: {
    counts: { [PayloadType.KE]: ONE, [PayloadType.NONCE]: ONE, [PayloadType.NAT_D]: { min: 0, max: 8 }, [PayloadType.VENDOR_ID]: VIDS, [PayloadType.NOTIFICATION]: NOTIFIES },
  },
  MM5: { counts: { [PayloadType.ID]: ONE, [PayloadType.HASH]: ONE, [PayloadType.NOTIFICATION]: NOTIFIES, [PayloadType.VENDOR_ID]: VIDS } },
  MM6: { counts: { [PayloadType.ID]: ONE, [PayloadType.HASH]: ONE, [PayloadType.NOTIFICATION]: NOTIFIES, [PayloadType.VENDOR_ID]: VIDS } },
  QM1: QM_OFFER,
  QM2: QM_OFFER,
  QM3: { first: PayloadType.HASH, counts: { [PayloadType.HASH]: ONE } },
  INFO: {
    first: PayloadType.HASH,
    counts: { [PayloadType.HASH]: ONE, [PayloadType.NOTIFICATION]: { min: 0, max: 16 }, [PayloadType.DELETE]: { min: 0, max: 16 } },
    someNotifyOrDelete: true,
  },
  INFO_PLAIN: { counts: { [PayloadType.NOTIFICATION]: { min: 1, max: 4 }, [PayloadType.VENDOR_ID]: VIDS } },
};

export type RuleCheck = { readonly ok: true } | { readonly ok: false; readonly notify: number; readonly detail: string };

const OK: RuleCheck = { ok: true };

export function checkMessageRules(kind: MessageKind, entries: readonly ChainEntry[]): RuleCheck {
  const rule = MESSAGE_RULES[kind];
  const seen = new Map<number, number>();
  for (const e of entries) {
    if (e.payload.kind === 'UNSUPPORTED' || !Object.hasOwn(rule.counts, e.type)) {
      return { ok: false, notify: NotifyType.INVALID_PAYLOAD_TYPE, detail: `${payloadTypeName(e.type)} not allowed in ${kind}` };
    }
    seen.set(e.type, (seen.get(e.type) ?? 0) + 1);
  }
  for (const [typeText, count] of Object.entries(rule.counts)) {
    if (!count) continue;
    const type = Number(typeText);
    const n = seen.get(type) ?? 0;
    if (n < count.min) return { ok: false, notify: NotifyType.PAYLOAD_MALFORMED, detail: `${kind} without ${payloadTypeName(type)}` };
    if (n > count.max) return { ok: false, notify: NotifyType.PAYLOAD_MALFORMED, detail: `${kind} with ${n} ${payloadTypeName(type)} payloads` };
  }
  if (rule.first !== undefined && entries[0]?.type !== rule.first) {
    return { ok: false, notify: NotifyType.PAYLOAD_MALFORMED, detail: `${kind} must start with ${payloadTypeName(rule.first)}` };
  }
  if (rule.idsNoneOrTwo && (seen.get(PayloadType.ID) ?? 0) === 1) {
    return { ok: false, notify: NotifyType.INVALID_ID_INFORMATION, detail: `${kind} with one ID payload` };
  }
  if (rule.someNotifyOrDelete && (seen.get(PayloadType.NOTIFICATION) ?? 0) + (seen.get(PayloadType.DELETE) ?? 0) === 0) {
    return { ok: false, notify: NotifyType.PAYLOAD_MALFORMED, detail: `${kind} without a notification or delete` };
  }
  return OK;
}
