/**
 * Which learned (or configured) prefixes may become kernel routes into a tunnel.
 *
 * A route is refused for the kernel, and shown in status with its reason, when it would
 *   - carry IKE/ESP to an AWS outside address into a tunnel (the tunnel would then carry
 *     its own encapsulation and die: any prefix containing either AWS outside address,
 *     the /32s a transit gateway may propagate included);
 *   - be the default route 0.0.0.0/0, unless the operator asked for it (`defaultRoute.accept`);
 *     then the AWS outside addresses are pinned to the underlay first (see underlay-pins.ts),
 *     and the route is added with its own metric without replacing anyone's;
 *   - lie inside a martian block: 0.0.0.0/8 "this network", 127.0.0.0/8 loopback,
 *     224.0.0.0/4 multicast, 240.0.0.0/4 reserved (RFC 6890 §2.2.2 special-purpose registry;
 *     RFC 5771 for multicast), or 169.254.0.0/16 link-local (RFC 3927) other than the
 *     tunnels' own inside /30s;
 *   - lie inside one of the site's own advertised prefixes (AWS reflecting the site back:
 *     routing it into the tunnel would loop; or, on a gateway with VPN CloudHub, another site
 *     advertising an overlapping prefix, which AWS requires to be unique per site).
 * A prefix that merely covers a martian block (e.g. 0.0.0.0/1) is not refused for that: the
 * kernel's local table and the more specific connected routes still win.
 */
import { parsePrefix, prefixContains, type Ipv4Prefix } from '../bgp/prefix.js';
import { networkOf, parseIpv4, parseIpv4Cidr } from '../config/ipv4.js';

export const REFUSAL_REASONS = ['aws-endpoint', 'default-route', 'martian', 'site-prefix', 'invalid', 'conflict'] as const;
/**
 * Why a prefix is not in the kernel: the five above are decided from the prefix alone;
 * `conflict` is the kernel's answer when a route cgwd did not create holds the same prefix and metric.
 */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface RouteSafetyPolicy {
  /** Both AWS outside addresses (the IKE/ESP peers). */
  readonly awsOutsideAddresses: readonly string[];
  /** The tunnels' inside CIDRs (169.254.x.y/30). */
  readonly insideCidrs: readonly string[];
  /** The site's own advertised prefixes. */
  readonly sitePrefixes: readonly string[];
  /** Install a learned 0.0.0.0/0 (the AWS outside addresses must then be pinned to the underlay). */
  readonly acceptDefaultRoute: boolean;
}

export type SafetyVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: RefusalReason; readonly detail: string };

/** Martian blocks with the document that reserves them. */
export const MARTIAN_BLOCKS: readonly { prefix: string; what: string }[] = [
  { prefix: '0.0.0.0/8', what: '"this network" (RFC 6890 §2.2.2)' },
  { prefix: '127.0.0.0/8', what: 'loopback (RFC 6890 §2.2.2)' },
  { prefix: '224.0.0.0/4', what: 'multicast (RFC 5771)' },
  { prefix: '240.0.0.0/4', what: 'reserved (RFC 6890 §2.2.2)' },
];
const LINK_LOCAL = '169.254.0.0/16';

const inside = (inner: Ipv4Prefix, outer: Ipv4Prefix): boolean => inner.length >= outer.length && prefixContains(outer, inner.network);

function tryParse(text: string): Ipv4Prefix | undefined {
  try {
    return parsePrefix(text);
  } catch {
    return undefined;
  }
}

/** A compiled policy: checks many prefixes without reparsing the policy each time. */
export class RouteSafety {
  readonly #aws: { text: string; value: number }[];
  readonly #inside: Ipv4Prefix[];
  readonly #site: { text: string; prefix: Ipv4Prefix }[];
  readonly #martians = MARTIAN_BLOCKS.map((m) => ({ ...m, parsed: parsePrefix(m.prefix) }));
  readonly #linkLocal = parsePrefix(LINK_LOCAL);

  constructor(readonly policy: RouteSafetyPolicy) {
    this.#aws = policy.awsOutsideAddresses.flatMap((text) => {
      const value = parseIpv4(text);
      return value === undefined ? [] : [{ text, value }];
    });
    this.#inside = policy.insideCidrs.flatMap((c) => {
      const cidr = parseIpv4Cidr(c);
      return cidr ? [{ network: networkOf(cidr.network, cidr.prefixLength), length: cidr.prefixLength }] : [];
    });
    this.#site = policy.sitePrefixes.flatMap((text) => {
      const prefix = tryParse(text);
      return prefix ? [{ text, prefix }] : [];
    });
  }

  check(text: string): SafetyVerdict {
    const prefix = tryParse(text);
    if (!prefix) return { ok: false, reason: 'invalid', detail: `${text} is not an IPv4 network prefix` };
    const isDefault = prefix.length === 0;
    if (isDefault && !this.policy.acceptDefaultRoute) {
      return { ok: false, reason: 'default-route', detail: 'a learned default route is installed only with the setting defaultRoute.accept' };
    }
    if (!isDefault) {
      const endpoint = this.#aws.find((a) => prefixContains(prefix, a.value));
      if (endpoint) {
        return { ok: false, reason: 'aws-endpoint', detail: `${text} contains the AWS outside address ${endpoint.text}: IKE/ESP to it would be routed into the tunnel` };
      }
    }
    const martian = this.#martians.find((m) => inside(prefix, m.parsed));
    if (martian) return { ok: false, reason: 'martian', detail: `${text} is inside ${martian.prefix}, ${martian.what}` };
    if (inside(prefix, this.#linkLocal) && !this.#inside.some((c) => inside(prefix, c))) {
      return { ok: false, reason: 'martian', detail: `${text} is link-local (169.254.0.0/16, RFC 3927) and not a tunnel inside /30` };
    }
    const site = this.#site.find((s) => inside(prefix, s.prefix));
    if (site) {
      return {
        ok: false,
        reason: 'site-prefix',
        detail:
          `${text} is inside this site's own advertised prefix ${site.text}: AWS reflected it back, or another site on the ` +
          'same gateway advertises an overlapping prefix (VPN CloudHub needs a unique prefix per site)',
      };
    }
    return { ok: true };
  }
}

/** One refused prefix as status shows it. */
export interface RefusedRoute {
  readonly prefix: string;
  /** Tunnels that announced it (empty for a configured static route). */
  readonly tunnels: readonly number[];
  readonly reason: RefusalReason;
  readonly detail: string;
}

/** Counts of refused prefixes by reason, every reason present (0 when none). */
export function countRefusals(refused: readonly RefusedRoute[]): Record<RefusalReason, number> {
  const counts = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  for (const r of refused) counts[r.reason] += 1;
  return counts;
}
