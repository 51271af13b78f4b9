import { CgwdError } from '../errors.js';
import { REDACTED } from './secret.js';

/**
 * Stable identifiers of every validation rule. Tests and tooling match on
 * these; messages are for people.
 */
export const RULES = [
  // input and document
  'input-readable', 'input-size', 'input-format', 'xml-well-formed', 'xml-no-doctype', 'xml-root',
  'json-well-formed', 'json-shape', 'connection-select', 'json-xml-mismatch',
  // element structure
  'required', 'single-element', 'text-value', 'tunnel-count',
  // identity
  'id-format', 'connection-type', 'connection-attributes',
  // addresses
  'ipv4-address', 'outside-address-unicast', 'customer-outside-consistent', 'inside-mask-cidr', 'inside-prefix-30',
  'inside-link-local', 'inside-reserved', 'inside-aws-address', 'inside-customer-address', 'inside-distinct',
  'inside-ipv6',
  // pre-shared key
  'psk-length', 'psk-charset', 'psk-leading-zero',
  // BGP
  'bgp-presence', 'asn-customer', 'asn-amazon', 'asn-distinct', 'hold-time',
  // algorithms and versions
  'algorithm-known', 'dh-group-phase1', 'list-non-empty', 'ike-versions',
  // numbers and enumerations
  'integer', 'boolean', 'phase1-lifetime', 'phase2-lifetime', 'phase2-below-phase1', 'rekey-margin', 'rekey-fuzz',
  'replay-window', 'dpd-timeout', 'dpd-interval', 'dpd-retries', 'tcp-mss', 'ike-mode', 'ipsec-protocol',
  'ipsec-mode', 'dpd-action', 'startup-action', 'startup-start-needs-ikev2',
  // describe-vpn-connections TunnelOptions ↔ XML tunnels
  'tunnel-options-unmatched', 'tunnel-options-ambiguous', 'tunnel-options-duplicate',
  // local settings
  'settings-unknown', 'settings-type', 'cidr', 'cidr-network', 'prefix-duplicate', 'advertise-limit',
  'advertise-needs-bgp', 'static-routes-need-static', 'ifname', 'interfaces-distinct', 'ike-version',
  'ike-version-allowed', 'listen-address', 'control-socket', 'local-id', 'keepalive-interval', 'failback', 'route-metric', 'as-path-prepend', 'dataplane-threads',
  'ecmp', 'ecmp-needs-bgp',
] as const;
export type Rule = (typeof RULES)[number];

/** One thing wrong with the input. `message` starts with the path and never contains a secret. */
export interface Problem {
  readonly path: string;
  readonly rule: Rule;
  readonly message: string;
}

export function formatProblem(problem: Problem): string {
  return `${problem.message} [${problem.rule}]`;
}

function describe(kind: string, problems: readonly Problem[]): string {
  const head = `${kind}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n');
}

/** The AWS configuration (XML or describe-vpn-connections JSON) is invalid; `problems` lists all findings. */
export class ConfigError extends CgwdError {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super('CONFIG_INVALID', describe('invalid VPN configuration', problems));
    this.problems = problems;
  }
}

/** The local settings (settings file or command-line flags) are invalid. */
export class SettingsError extends CgwdError {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super('SETTINGS_INVALID', describe('invalid local settings', problems));
    this.problems = problems;
  }
}

const MIN_SCRUBBED_SECRET = 6;

/**
 * Collects problems while a document is checked, so one run reports all of
 * them. Secret candidates registered here (PSKs seen in the raw input, valid or
 * not) are scrubbed from every message as a second line of defence behind
 * "messages never quote a PSK".
 */
export class ProblemList {
  readonly #problems: Problem[] = [];
  readonly #secrets = new Set<string>();

  add(path: string, rule: Rule, text: string): void {
    this.#problems.push({ path, rule, message: `${path}: ${text}` });
  }

  addSecretCandidate(value: string): void {
    if (value.length >= MIN_SCRUBBED_SECRET) this.#secrets.add(value);
  }

  get count(): number {
    return this.#problems.length;
  }

  get isEmpty(): boolean {
    return this.#problems.length === 0;
  }

  toArray(): Problem[] {
    return this.#problems.map((p) => ({ ...p, message: this.#scrub(p.message) }));
  }

  throwIfAny(make: (problems: Problem[]) => Error = (p) => new ConfigError(p)): void {
    if (!this.isEmpty) throw make(this.toArray());
  }

  #scrub(message: string): string {
    let out = message;
    for (const secret of this.#secrets) out = out.split(secret).join(REDACTED);
    return out;
  }
}
