/**
 * Local settings: what AWS cannot know about this box. Sources, strongest
 * first: command-line flags, the JSON settings file (--settings), defaults that
 * make the common case need neither. Problems are reported like configuration
 * problems, with the file key (advertise[2]) or the flag (--advertise) as path.
 *
 * Settings file (every key optional):
 *   {
 *     "advertise": ["10.10.0.0/16"],          site prefixes announced over BGP
 *     "staticRoutes": ["172.31.0.0/16"],      VPC prefixes routed into the tunnels (static routing)
 *     "localAddress": "auto",                 bind address, or "auto"
 *     "localId": "198.51.100.10",             IKE identity (default: customer outside address)
 *     "interfaces": ["cgw-t1", "cgw-t2"],     tunnel interface names
 *     "keepalive": { "target": "10.0.0.10", "intervalSeconds": 0.2, "window": 3 },
 *     "metrics": { "listen": "127.0.0.1:9580" },
 *     "controlSocket": "/run/cgwd/cgwd.sock",
 *     "ikeVersion": "ikev2",
 *     "failback": "auto",
 *     "defaultRoute": { "accept": false, "metric": 50 },  a learned 0.0.0.0/0: refused unless accepted
 *     "routeMetric": 100,                     metric of the routes cgwd installs into the tunnels
 *     "asPathPrepend": 0,                     extra prepends on all this box advertises (the standby box of an HA pair)
 *     "ecmp": "auto",                         both tunnels at once (multipath); auto = on for a transit gateway with BGP
 *     "dataplaneThreads": 1                   packet threads: 1, or 2 (one per direction); restart-only
 *   }
 */
import { isIPv6 } from 'node:net';
import { IKE_VERSIONS, MAX_ADVERTISED_PREFIXES, type IkeVersion } from './aws-limits.js';
import { isJsonObject, joinPath, jsonTypeName, type JsonObject } from './json-values.js';
import { formatCidr, isNetworkAddress, networkOf, parseIpv4, parseIpv4Cidr } from './ipv4.js';
import type { VpnConfig } from './model.js';
import { ProblemList, SettingsError } from './problems.js';
import { checkInputSize } from './read-input.js';
import { quote } from './values.js';

export type SettingsOrigin = 'cli' | 'file' | 'default';

/** Where to bind: a fixed address, or at start-up the customer outside address if this host has it, else 0.0.0.0. */
export type LocalAddress = { mode: 'fixed'; address: string } | { mode: 'auto'; preferred: string; fallback: '0.0.0.0' };

export interface Settings {
  advertise: string[];
  staticRoutes: string[];
  localAddress: LocalAddress;
  localId: string;
  interfaces: [string, string];
  /** Probe target, interval, and window: unhealthy after `window` probes in a row go unanswered. */
  keepalive: { target?: string; intervalSeconds: number; window: number };
  metrics: { listen: string };
  controlSocket: string;
  ikeVersion: IkeVersion;
  failback: 'auto' | 'manual';
  /** A learned default route: refused unless `accept`; then added at `metric`, never over someone else's. */
  defaultRoute: { accept: boolean; metric: number };
  /** Metric of the VPC routes cgwd installs (kernel route key: prefix + metric). */
  routeMetric: number;
  /**
   * Our AS prepended this many more times on everything this box advertises (both tunnels): on the
   * standby box of a redundant pair, so AWS prefers the other box's VPN connection (AS_PATH length).
   */
  asPathPrepend: number;
  /**
   * Both tunnels at once: one multipath route over the tunnels AWS announces equally, and equal
   * advertisements. `auto` turns it on for a transit gateway with BGP, the one AWS target that spreads
   * its own traffic over both tunnels (VpnEcmpSupport, BGP only: Transit Gateway Guide, "How AWS
   * Transit Gateway works", Equal Cost Multipath routing); a virtual private gateway sends back on one tunnel whatever the box does.
   */
  ecmp: EcmpSetting;
  /**
   * Packet threads of each data plane: 1 (one loop for both directions) or 2 (an outbound and an
   * inbound thread: native/src/loop.c). Fixed while cgwd runs (a reload that changes it is refused).
   */
  dataplaneThreads: DataplaneThreadsSetting;
  origins: Readonly<Record<SettingName, SettingsOrigin>>;
}

export const SETTING_NAMES = [
  'advertise', 'staticRoutes', 'localAddress', 'localId', 'interfaces', 'keepalive.target',
  'keepalive.intervalSeconds', 'keepalive.window', 'metrics.listen', 'controlSocket', 'ikeVersion', 'failback',
  'defaultRoute.accept', 'defaultRoute.metric', 'routeMetric', 'asPathPrepend', 'ecmp', 'dataplaneThreads',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

export const ECMP_SETTINGS = ['auto', 'on', 'off'] as const;

/** The `dataplaneThreads` choices (the same as the data plane's `threads` option). */
export const DATAPLANE_THREADS_SETTINGS = [1, 2] as const;
export type DataplaneThreadsSetting = (typeof DATAPLANE_THREADS_SETTINGS)[number];
export type EcmpSetting = (typeof ECMP_SETTINGS)[number];

/** Whether the tunnels run active/active: the `ecmp` setting resolved against the connection. */
export function ecmpActive(settings: Pick<Settings, 'ecmp'>, config: Pick<VpnConfig, 'target' | 'routing'>): boolean {
  if (config.routing !== 'bgp') return false;
  return settings.ecmp === 'on' || (settings.ecmp === 'auto' && config.target === 'tgw');
}

/** Values as given on the command line (strings; lists already split). */
export interface SettingsFlags {
  advertise?: string[];
  staticRoutes?: string[];
  localAddress?: string;
  localId?: string;
  interfaces?: string[];
  keepaliveTarget?: string;
  keepaliveInterval?: string;
  keepaliveWindow?: string;
  metricsListen?: string;
  controlSocket?: string;
  ikeVersion?: string;
  failback?: string;
  acceptDefaultRoute?: boolean;
  defaultRouteMetric?: string;
  routeMetric?: string;
  asPathPrepend?: string;
  ecmp?: string;
  dataplaneThreads?: string;
}

/** The command-line flag for each setting, for messages and help. */
export const SETTING_FLAGS: Readonly<Record<SettingName, { flag: string; key: keyof SettingsFlags }>> = {
  advertise: { flag: '--advertise', key: 'advertise' },
  staticRoutes: { flag: '--static-route', key: 'staticRoutes' },
  localAddress: { flag: '--local-address', key: 'localAddress' },
  localId: { flag: '--local-id', key: 'localId' },
  interfaces: { flag: '--interfaces', key: 'interfaces' },
  'keepalive.target': { flag: '--keepalive-target', key: 'keepaliveTarget' },
  'keepalive.intervalSeconds': { flag: '--keepalive-interval', key: 'keepaliveInterval' },
  'keepalive.window': { flag: '--keepalive-window', key: 'keepaliveWindow' },
  'metrics.listen': { flag: '--metrics-listen', key: 'metricsListen' },
  controlSocket: { flag: '--control-socket', key: 'controlSocket' },
  ikeVersion: { flag: '--ike-version', key: 'ikeVersion' },
  failback: { flag: '--failback', key: 'failback' },
  'defaultRoute.accept': { flag: '--accept-default-route', key: 'acceptDefaultRoute' },
  'defaultRoute.metric': { flag: '--default-route-metric', key: 'defaultRouteMetric' },
  routeMetric: { flag: '--route-metric', key: 'routeMetric' },
  asPathPrepend: { flag: '--as-path-prepend', key: 'asPathPrepend' },
  ecmp: { flag: '--ecmp', key: 'ecmp' },
  dataplaneThreads: { flag: '--dataplane-threads', key: 'dataplaneThreads' },
};

export const SETTINGS_DEFAULTS = {
  interfaces: ['cgw-t1', 'cgw-t2'] as [string, string],
  keepaliveIntervalSeconds: 0.2,
  keepaliveWindow: 3,
  metricsListen: '127.0.0.1:9580',
  controlSocket: '/run/cgwd/cgwd.sock',
  failback: 'auto' as const,
  defaultRouteMetric: 50,
  routeMetric: 100,
  asPathPrepend: 0,
  ecmp: 'auto' as EcmpSetting,
  dataplaneThreads: 1 as DataplaneThreadsSetting,
};

/** More than this is never needed against AWS (one extra hop decides) and makes paths long for nothing. */
export const MAX_BOX_AS_PATH_PREPEND = 10;

const IFNAME_MAX = 15;
const SUN_PATH_MAX = 107;

interface RawSetting {
  value: unknown;
  path: string;
  origin: SettingsOrigin;
}

export function resolveSettings(fileContents: string | undefined, cliFlags: SettingsFlags, config: VpnConfig): Settings {
  const problems = new ProblemList();
  const file = fileContents === undefined ? {} : parseSettingsFile(fileContents, problems);
  const origins = {} as Record<SettingName, SettingsOrigin>;

  const raw = (name: SettingName): RawSetting | undefined => {
    const { flag, key } = SETTING_FLAGS[name];
    const fromCli = cliFlags[key];
    let found: RawSetting | undefined;
    if (fromCli !== undefined) found = { value: fromCli, path: flag, origin: 'cli' };
    else {
      const [head, tail] = name.split('.') as [string, string | undefined];
      const outer = file[head];
      const value = tail === undefined ? outer : isJsonObject(outer) ? outer[tail] : undefined;
      if (value !== undefined) found = { value, path: name, origin: 'file' };
    }
    origins[name] = found?.origin ?? 'default';
    return found;
  };

  const customerOutside = config.tunnels[0].customer.outsideAddress;
  const advertise = prefixList(raw('advertise'), problems);
  const staticRoutes = prefixList(raw('staticRoutes'), problems);
  checkRoutingFit(advertise, staticRoutes, config, problems);

  const settings: Settings = {
    advertise: advertise?.prefixes ?? [],
    staticRoutes: staticRoutes?.prefixes ?? [],
    localAddress: localAddress(raw('localAddress'), customerOutside, problems),
    localId: localId(raw('localId'), customerOutside, problems),
    interfaces: interfaces(raw('interfaces'), problems),
    keepalive: { intervalSeconds: keepaliveInterval(raw('keepalive.intervalSeconds'), problems), window: keepaliveWindow(raw('keepalive.window'), problems) },
    metrics: { listen: listenAddress(raw('metrics.listen'), problems) },
    controlSocket: controlSocket(raw('controlSocket'), problems),
    ikeVersion: ikeVersion(raw('ikeVersion'), config, problems),
    failback: choice(raw('failback'), ['auto', 'manual'] as const, 'failback', problems) ?? SETTINGS_DEFAULTS.failback,
    defaultRoute: {
      accept: booleanSetting(raw('defaultRoute.accept'), problems) ?? false,
      metric: metricSetting(raw('defaultRoute.metric'), SETTINGS_DEFAULTS.defaultRouteMetric, problems),
    },
    routeMetric: metricSetting(raw('routeMetric'), SETTINGS_DEFAULTS.routeMetric, problems),
    asPathPrepend: prependSetting(raw('asPathPrepend'), problems),
    ecmp: ecmpSetting(raw('ecmp'), config, problems),
    dataplaneThreads: dataplaneThreadsSetting(raw('dataplaneThreads'), problems),
    origins,
  };
  const target = ipv4Setting(raw('keepalive.target'), problems);
  if (target !== undefined) settings.keepalive.target = target;
  problems.throwIfAny((p) => new SettingsError(p));
  return settings;
}

const KNOWN_KEYS: Readonly<Record<string, readonly string[] | null>> = {
  advertise: null, staticRoutes: null, localAddress: null, localId: null, interfaces: null,
  keepalive: ['target', 'intervalSeconds', 'window'], metrics: ['listen'], controlSocket: null, ikeVersion: null, failback: null,
  defaultRoute: ['accept', 'metric'], routeMetric: null, asPathPrepend: null, ecmp: null, dataplaneThreads: null,
};

function parseSettingsFile(text: string, problems: ProblemList): JsonObject {
  if (!checkInputSize(text, 'settings file', problems)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    problems.add('settings file', 'json-well-formed', 'is not valid JSON');
    return {};
  }
  if (!isJsonObject(parsed)) {
    problems.add('settings file', 'settings-type', `must be a JSON object, found ${jsonTypeName(parsed)}`);
    return {};
  }
  for (const [key, value] of Object.entries(parsed)) {
    const nested = KNOWN_KEYS[key];
    if (!Object.hasOwn(KNOWN_KEYS, key)) {
      problems.add(key, 'settings-unknown', `unknown setting; known settings are ${Object.keys(KNOWN_KEYS).join(', ')}`);
    } else if (nested && isJsonObject(value)) {
      for (const inner of Object.keys(value)) {
        if (!nested.includes(inner)) problems.add(joinPath(key, inner), 'settings-unknown', `unknown setting; known are ${nested.join(', ')}`);
      }
    } else if (nested && value !== undefined) {
      problems.add(key, 'settings-type', `must be an object, found ${jsonTypeName(value)}`);
    }
  }
  return parsed;
}

function stringOf(raw: RawSetting, problems: ProblemList): string | undefined {
  if (typeof raw.value === 'string') return raw.value;
  problems.add(raw.path, 'settings-type', `must be a string, found ${jsonTypeName(raw.value)}`);
  return undefined;
}

function stringListOf(raw: RawSetting, problems: ProblemList): { value: string; path: string }[] | undefined {
  if (!Array.isArray(raw.value)) {
    problems.add(raw.path, 'settings-type', `must be a list of strings, found ${jsonTypeName(raw.value)}`);
    return undefined;
  }
  const items: { value: string; path: string }[] = [];
  raw.value.forEach((item: unknown, i) => {
    const path = raw.origin === 'cli' ? raw.path : joinPath(raw.path, i);
    if (typeof item === 'string') items.push({ value: item, path });
    else problems.add(path, 'settings-type', `must be a string, found ${jsonTypeName(item)}`);
  });
  return items;
}

function prefixList(raw: RawSetting | undefined, problems: ProblemList): { prefixes: string[]; path: string } | undefined {
  if (!raw) return undefined;
  const items = stringListOf(raw, problems);
  if (!items) return undefined;
  const prefixes: string[] = [];
  for (const item of items) {
    const cidr = parseIpv4Cidr(item.value);
    if (!cidr) {
      problems.add(item.path, 'cidr', `must be an IPv4 prefix such as 10.0.0.0/16, found ${quote(item.value)}`);
    } else if (!isNetworkAddress(cidr)) {
      const fixed = formatCidr(networkOf(cidr.network, cidr.prefixLength), cidr.prefixLength);
      problems.add(item.path, 'cidr-network', `${item.value} has host bits set; did you mean ${fixed}?`);
    } else if (prefixes.includes(item.value)) {
      problems.add(item.path, 'prefix-duplicate', `${item.value} is listed twice`);
    } else {
      prefixes.push(item.value);
    }
  }
  return { prefixes, path: raw.path };
}

function checkRoutingFit(
  advertise: { prefixes: string[]; path: string } | undefined,
  staticRoutes: { prefixes: string[]; path: string } | undefined,
  config: VpnConfig,
  problems: ProblemList,
): void {
  if (advertise && advertise.prefixes.length > 0) {
    if (config.routing === 'static') {
      problems.add(
        advertise.path,
        'advertise-needs-bgp',
        'this connection uses static routing (NoBGPVPNConnection), so nothing is advertised; add the site prefixes as static routes of the VPN connection in AWS instead',
      );
    }
    const limit = MAX_ADVERTISED_PREFIXES[config.target];
    if (advertise.prefixes.length > limit) {
      const gateway = config.target === 'vgw' ? 'a virtual private gateway' : 'a transit gateway';
      problems.add(
        advertise.path,
        'advertise-limit',
        `${advertise.prefixes.length} prefixes, but AWS accepts at most ${limit} from a customer gateway on ${gateway} and resets the BGP session past that; summarise them`,
      );
    }
  }
  if (staticRoutes && staticRoutes.prefixes.length > 0 && config.routing === 'bgp') {
    problems.add(staticRoutes.path, 'static-routes-need-static', 'this connection uses BGP: the VPC prefixes are learned from AWS, so static routes are not used');
  }
}

function ipv4Setting(raw: RawSetting | undefined, problems: ProblemList): string | undefined {
  if (!raw) return undefined;
  const value = stringOf(raw, problems);
  if (value === undefined) return undefined;
  if (parseIpv4(value) === undefined) {
    problems.add(raw.path, 'ipv4-address', `must be an IPv4 address, found ${quote(value)}`);
    return undefined;
  }
  return value;
}

function localAddress(raw: RawSetting | undefined, customerOutside: string, problems: ProblemList): LocalAddress {
  const auto: LocalAddress = { mode: 'auto', preferred: customerOutside, fallback: '0.0.0.0' };
  if (!raw || raw.value === 'auto') return auto;
  const address = ipv4Setting(raw, problems);
  return address === undefined ? auto : { mode: 'fixed', address };
}

function localId(raw: RawSetting | undefined, customerOutside: string, problems: ProblemList): string {
  if (!raw) return customerOutside;
  const value = stringOf(raw, problems);
  if (value === undefined) return customerOutside;
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    problems.add(raw.path, 'local-id', 'must be 1–255 printable characters without spaces (an IPv4 address, a host name or user@host)');
  }
  return value;
}

function interfaces(raw: RawSetting | undefined, problems: ProblemList): [string, string] {
  if (!raw) return SETTINGS_DEFAULTS.interfaces;
  const items = stringListOf(raw, problems);
  if (!items) return SETTINGS_DEFAULTS.interfaces;
  if (items.length !== 2) {
    problems.add(raw.path, 'settings-type', `must name exactly 2 interfaces (tunnel 1, tunnel 2), found ${items.length}`);
    return SETTINGS_DEFAULTS.interfaces;
  }
  for (const item of items) {
    const reason = ifnameProblem(item.value);
    if (reason) problems.add(item.path, 'ifname', `${quote(item.value)} is not a valid Linux interface name: ${reason}`);
  }
  const [first, second] = items as [{ value: string; path: string }, { value: string; path: string }];
  if (first.value === second.value) {
    problems.add(second.path, 'interfaces-distinct', `both tunnels would use interface ${quote(first.value)}`);
  }
  return [first.value, second.value];
}

/** Linux dev_valid_name(): 1–15 bytes, not "." or "..", no "/", ":" or whitespace. */
export function ifnameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty';
  if (Buffer.byteLength(name) > IFNAME_MAX) return `longer than ${IFNAME_MAX} characters`;
  if (name === '.' || name === '..') return 'reserved name';
  if (/[/:\s]/.test(name)) return 'contains "/", ":" or whitespace';
  return undefined;
}

/** Seconds between probes: 0.05 to 3600 (fractions allowed; sub-second probes make failover sub-second). */
function keepaliveInterval(raw: RawSetting | undefined, problems: ProblemList): number {
  if (!raw) return SETTINGS_DEFAULTS.keepaliveIntervalSeconds;
  const n = typeof raw.value === 'string' && /^[0-9]{1,4}(\.[0-9]{1,3})?$/.test(raw.value) ? Number(raw.value) : raw.value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0.05 || n > 3600) {
    problems.add(raw.path, 'keepalive-interval', `must be a number of seconds from 0.05 to 3600, found ${quote(String(raw.value))}`);
    return SETTINGS_DEFAULTS.keepaliveIntervalSeconds;
  }
  return n;
}

function keepaliveWindow(raw: RawSetting | undefined, problems: ProblemList): number {
  if (!raw) return SETTINGS_DEFAULTS.keepaliveWindow;
  const n = typeof raw.value === 'string' && /^[0-9]{1,2}$/.test(raw.value) ? Number(raw.value) : raw.value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 20) {
    problems.add(raw.path, 'keepalive-interval', `must be a whole number of probes from 1 to 20, found ${quote(String(raw.value))}`);
    return SETTINGS_DEFAULTS.keepaliveWindow;
  }
  return n;
}

function booleanSetting(raw: RawSetting | undefined, problems: ProblemList): boolean | undefined {
  if (!raw) return undefined;
  if (typeof raw.value === 'boolean') return raw.value;
  problems.add(raw.path, 'settings-type', `must be true or false, found ${jsonTypeName(raw.value)}`);
  return undefined;
}

/** A kernel route metric (rtnetlink RTA_PRIORITY, u32); 0 is refused so cgwd never sits at the metric of connected routes. */
function metricSetting(raw: RawSetting | undefined, fallback: number, problems: ProblemList): number {
  if (!raw) return fallback;
  const n = typeof raw.value === 'string' && /^[0-9]{1,10}$/.test(raw.value) ? Number(raw.value) : raw.value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    problems.add(raw.path, 'route-metric', `must be a whole number from 1 to 4294967295, found ${quote(String(raw.value))}`);
    return fallback;
  }
  return n;
}

function prependSetting(raw: RawSetting | undefined, problems: ProblemList): number {
  if (!raw) return SETTINGS_DEFAULTS.asPathPrepend;
  const n = typeof raw.value === 'string' && /^[0-9]{1,3}$/.test(raw.value) ? Number(raw.value) : raw.value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_BOX_AS_PATH_PREPEND) {
    problems.add(raw.path, 'as-path-prepend', `must be a whole number from 0 to ${MAX_BOX_AS_PATH_PREPEND}, found ${quote(String(raw.value))}`);
    return SETTINGS_DEFAULTS.asPathPrepend;
  }
  return n;
}

/** 1 or 2: a number in the file, "1" or "2" on the command line. */
function dataplaneThreadsSetting(raw: RawSetting | undefined, problems: ProblemList): DataplaneThreadsSetting {
  if (!raw) return SETTINGS_DEFAULTS.dataplaneThreads;
  const n = typeof raw.value === 'string' && /^[0-9]{1,2}$/.test(raw.value) ? Number(raw.value) : raw.value;
  const match = DATAPLANE_THREADS_SETTINGS.find((choice) => choice === n);
  if (match === undefined) {
    problems.add(raw.path, 'dataplane-threads', `must be 1 (one packet thread) or 2 (one per direction), found ${quote(String(raw.value))}`);
    return SETTINGS_DEFAULTS.dataplaneThreads;
  }
  return match;
}

function ecmpSetting(raw: RawSetting | undefined, config: VpnConfig, problems: ProblemList): EcmpSetting {
  const value = choice(raw, ECMP_SETTINGS, 'ecmp', problems) ?? SETTINGS_DEFAULTS.ecmp;
  if (raw && value === 'on' && config.routing !== 'bgp') {
    problems.add(raw.path, 'ecmp-needs-bgp', 'this connection uses static routing: AWS spreads traffic over both tunnels only with BGP (ECMP), so cgwd keeps one tunnel active');
  }
  return value;
}

function listenAddress(raw: RawSetting | undefined, problems: ProblemList): string {
  if (!raw) return SETTINGS_DEFAULTS.metricsListen;
  const value = stringOf(raw, problems);
  if (value === undefined) return SETTINGS_DEFAULTS.metricsListen;
  if (value === 'off') return value;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const hostOk = host !== undefined && (m?.[1] !== undefined ? isIPv6(host) : parseIpv4(host) !== undefined);
  if (!hostOk || !(port >= 1 && port <= 65535)) {
    problems.add(raw.path, 'listen-address', `must be ADDRESS:PORT such as 127.0.0.1:9580 or [::1]:9580, or off, found ${quote(value)}`);
  }
  return value;
}

function controlSocket(raw: RawSetting | undefined, problems: ProblemList): string {
  if (!raw) return SETTINGS_DEFAULTS.controlSocket;
  const value = stringOf(raw, problems);
  if (value === undefined) return SETTINGS_DEFAULTS.controlSocket;
  if (!value.startsWith('/') || value.includes('\0') || Buffer.byteLength(value) > SUN_PATH_MAX) {
    problems.add(raw.path, 'control-socket', `must be an absolute path of at most ${SUN_PATH_MAX} bytes (a Unix socket path), found ${quote(value)}`);
  }
  return value;
}

/**
 * IKEv2 unless TunnelOptions allow only IKEv1 (AWS recommends IKEv2: User Guide,
 * "Best practices for your customer gateway device"). An explicit choice must be allowed on both tunnels.
 */
function ikeVersion(raw: RawSetting | undefined, config: VpnConfig, problems: ProblemList): IkeVersion {
  const allowsIkev2 = config.tunnels.every((t) => t.ike.versions.includes('ikev2'));
  const fallback: IkeVersion = allowsIkev2 ? 'ikev2' : 'ikev1';
  const chosen = raw ? choice(raw, IKE_VERSIONS, 'ike-version', problems) : undefined;
  const version = chosen ?? fallback;
  for (const t of config.tunnels) {
    if (!t.ike.versions.includes(version)) {
      problems.add(
        raw?.path ?? 'ikeVersion',
        'ike-version-allowed',
        `${version} is not allowed on tunnel ${t.index} (${t.aws.outsideAddress}); its IkeVersions are ${t.ike.versions.join(', ')}`,
      );
    }
  }
  return version;
}

function choice<T extends string>(raw: RawSetting | undefined, allowed: readonly T[], rule: 'failback' | 'ike-version' | 'ecmp', problems: ProblemList): T | undefined {
  if (!raw) return undefined;
  const value = stringOf(raw, problems);
  if (value === undefined) return undefined;
  const match = allowed.find((a) => a === value);
  if (match === undefined) problems.add(raw.path, rule, `must be ${allowed.map((a) => `"${a}"`).join(' or ')}, found ${quote(value)}`);
  return match;
}
