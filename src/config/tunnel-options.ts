/**
 * One entry of `Options.TunnelOptions[]` from describe-vpn-connections
 * (EC2 API `TunnelOption`; User Guide, "Tunnel options for your Site-to-Site VPN
 * connection") → typed overrides. Lists come as [{"Value": …}] (the AWS
 * CLI's shape); bare values are accepted too. Keys are read in the describe
 * spelling first (DpdTimeoutSeconds, IkeVersions) and then in the create/modify
 * spelling (DPDTimeoutSeconds, IKEVersions). Unknown keys (LogOptions, …) are ignored.
 */
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../crypto/transforms.js';
import { DPD_TIMEOUT_ACTIONS, IKE_VERSIONS, STARTUP_ACTIONS, type DpdTimeoutAction, type IkeVersion, type StartupAction } from './aws-limits.js';
import {
  expectArray,
  expectInteger,
  expectString,
  isJsonObject,
  joinPath,
  member,
  type JsonObject,
} from './json-values.js';
import type { ProblemList } from './problems.js';
import type { Secret } from './secret.js';
import { sourced, type Sourced } from './sourced.js';
import { jsonDhGroup, jsonEncryption, jsonIntegrity, readChoice, readPsk, type Phase } from './values.js';

export interface TunnelOptionsEntry {
  readonly path: string;
  outsideAddress?: Sourced<string>;
  insideCidr?: Sourced<string>;
  insideIpv6Cidr?: Sourced<string>;
  psk?: Sourced<Secret>;
  ikeVersions?: Sourced<IkeVersion[]>;
  phase1Encryption?: Sourced<EncryptionName[]>;
  phase2Encryption?: Sourced<EncryptionName[]>;
  phase1Integrity?: Sourced<IntegrityName[]>;
  phase2Integrity?: Sourced<IntegrityName[]>;
  phase1DhGroups?: Sourced<DhGroupNumber[]>;
  phase2DhGroups?: Sourced<DhGroupNumber[]>;
  phase1LifetimeSeconds?: Sourced<number>;
  phase2LifetimeSeconds?: Sourced<number>;
  rekeyMarginSeconds?: Sourced<number>;
  rekeyFuzzPercent?: Sourced<number>;
  replayWindow?: Sourced<number>;
  dpdTimeoutSeconds?: Sourced<number>;
  dpdAction?: Sourced<DpdTimeoutAction>;
  startupAction?: Sourced<StartupAction>;
}

export function readTunnelOptions(value: unknown, path: string, problems: ProblemList): TunnelOptionsEntry | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, 'json-shape', 'must be an object');
    return undefined;
  }
  const o = value;
  const entry: TunnelOptionsEntry = { path };
  const text = (...names: string[]): Sourced<string> | undefined => {
    const m = member(o, path, names);
    if (!m) return undefined;
    const s = expectString(m.value, m.path, problems);
    return s === undefined ? undefined : sourced(s, m.path, 'tunnel-options');
  };
  const integer = (...names: string[]): Sourced<number> | undefined => {
    const m = member(o, path, names);
    if (!m) return undefined;
    const n = expectInteger(m.value, m.path, problems);
    return n === undefined ? undefined : sourced(n, m.path, 'tunnel-options');
  };

  entry.outsideAddress = text('OutsideIpAddress');
  entry.insideCidr = text('TunnelInsideCidr');
  entry.insideIpv6Cidr = text('TunnelInsideIpv6Cidr');
  const psk = text('PreSharedKey');
  if (psk) entry.psk = readPsk(psk, problems);

  entry.ikeVersions = readList(o, path, ['IkeVersions', 'IKEVersions'], problems, (v, p) => {
    const s = expectString(v, p, problems);
    return s === undefined ? undefined : readChoice(sourced(s, p, 'tunnel-options'), IKE_VERSIONS, 'ike-versions', problems)?.value;
  });
  entry.phase1Encryption = readList(o, path, ['Phase1EncryptionAlgorithms'], problems, stringItem(jsonEncryption, problems));
  entry.phase2Encryption = readList(o, path, ['Phase2EncryptionAlgorithms'], problems, stringItem(jsonEncryption, problems));
  entry.phase1Integrity = readList(o, path, ['Phase1IntegrityAlgorithms'], problems, stringItem(jsonIntegrity, problems));
  entry.phase2Integrity = readList(o, path, ['Phase2IntegrityAlgorithms'], problems, stringItem(jsonIntegrity, problems));
  entry.phase1DhGroups = readList(o, path, ['Phase1DHGroupNumbers', 'Phase1DhGroupNumbers'], problems, dhItem(1, problems));
  entry.phase2DhGroups = readList(o, path, ['Phase2DHGroupNumbers', 'Phase2DhGroupNumbers'], problems, dhItem(2, problems));

  entry.phase1LifetimeSeconds = integer('Phase1LifetimeSeconds');
  entry.phase2LifetimeSeconds = integer('Phase2LifetimeSeconds');
  entry.rekeyMarginSeconds = integer('RekeyMarginTimeSeconds');
  entry.rekeyFuzzPercent = integer('RekeyFuzzPercentage');
  entry.replayWindow = integer('ReplayWindowSize');
  entry.dpdTimeoutSeconds = integer('DpdTimeoutSeconds', 'DPDTimeoutSeconds');
  const dpdAction = text('DpdTimeoutAction', 'DPDTimeoutAction');
  if (dpdAction) entry.dpdAction = readChoice(dpdAction, DPD_TIMEOUT_ACTIONS, 'dpd-action', problems);
  const startup = text('StartupAction');
  if (startup) entry.startupAction = readChoice(startup, STARTUP_ACTIONS, 'startup-action', problems);
  return entry;
}

type ItemReader<T> = (value: unknown, path: string) => T | undefined;

/**
 * Reads a list such as [{"Value":"AES128"},{"Value":"AES256"}]. Returns the
 * list only when every item is valid, so a half-understood list is never
 * proposed; duplicates are dropped.
 */
function readList<T>(
  object: JsonObject,
  base: string,
  names: readonly string[],
  problems: ProblemList,
  readItem: ItemReader<T>,
): Sourced<T[]> | undefined {
  const m = member(object, base, names);
  if (!m) return undefined;
  const items = expectArray(m.value, m.path, problems);
  if (!items) return undefined;
  if (items.length === 0) {
    problems.add(m.path, 'list-non-empty', 'must list at least one value (leave it out to accept the AWS default)');
    return undefined;
  }
  const values: T[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const itemPath = joinPath(m.path, i);
    const wrapped = isJsonObject(item) ? member(item, itemPath, ['Value']) : { value: item, path: itemPath };
    if (!wrapped) {
      problems.add(itemPath, 'json-shape', 'must be {"Value": …}');
      ok = false;
      return;
    }
    const value = readItem(wrapped.value, wrapped.path);
    if (value === undefined) ok = false;
    else if (!values.includes(value)) values.push(value);
  });
  return ok ? sourced(values, m.path, 'tunnel-options') : undefined;
}

function stringItem<T>(read: (value: string, path: string, problems: ProblemList) => T | undefined, problems: ProblemList): ItemReader<T> {
  return (value, path) => {
    const s = expectString(value, path, problems);
    return s === undefined ? undefined : read(s, path, problems);
  };
}

function dhItem(phase: Phase, problems: ProblemList): ItemReader<DhGroupNumber> {
  return (value, path) => {
    if (typeof value !== 'number' && typeof value !== 'string') {
      problems.add(path, 'json-shape', 'must be a Diffie-Hellman group number');
      return undefined;
    }
    return jsonDhGroup(value, phase, path, problems);
  };
}
