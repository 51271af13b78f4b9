/**
 * Checks before anything reaches the addon: a ChildSaInstall must name a
 * transform cgwd knows, carry keys of exactly the transform's lengths
 * (src/crypto/transforms.ts), use non-zero SPIs and a sane replay window and
 * lifetimes. Messages name the SA and the field, never key bytes.
 */
import { parseIpv4, parseIpv4Cidr, formatIpv4, prefixMask } from '../config/ipv4.js';
import { ENCRYPTION, INTEGRITY, type EncryptionName } from '../crypto/transforms.js';
import type { ChildSaInstall, Endpoint } from '../ike/runtime.js';
import type { NativeSaSpec, NativeTunnelFlags, NativeTunnelSpec } from '../native/addon.js';
import { ChildSaInvalidError, DataplaneOptionsError } from './errors.js';
import type { SaInstallOptions, TunnelInfo, TunnelOptions, TunnelPacketOptions } from './types.js';

/** RFC 4303 allows larger windows; AWS offers 64–2048. The addon's bitmap holds up to 4096. */
export const MAX_REPLAY_WINDOW = 4096;
const U32_MAX = 0xffff_ffff;
const SEQ_MAX = 0xffff_ffff;

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= U32_MAX;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function checkEndpoint(endpoint: Endpoint, what: string, allowAnyPort = false): void {
  if (parseIpv4(endpoint.address) === undefined) {
    throw new DataplaneOptionsError(`${what} address must be a dotted-quad IPv4 address`);
  }
  const low = allowAnyPort ? 0 : 1;
  if (!Number.isInteger(endpoint.port) || endpoint.port < low || endpoint.port > 65535) {
    throw new DataplaneOptionsError(`${what} port must be an integer in ${low}–65535`);
  }
}

/** The loggable view of an SA: no keys. */
export function describeSa(sa: ChildSaInstall): Record<string, string | number> {
  const hex = (spi: number): string => `0x${(spi >>> 0).toString(16).padStart(8, '0')}`;
  return {
    id: sa.id,
    tunnel: sa.tunnel,
    spiIn: hex(sa.spiIn),
    spiOut: hex(sa.spiOut),
    suite: sa.integrity ? `${sa.encryption}/${sa.integrity}` : sa.encryption,
    remote: `${sa.remote?.address}:${sa.remote?.port}`,
    replayWindow: sa.replayWindow,
  };
}

function lengthOf(key: unknown): number | undefined {
  return key instanceof Uint8Array ? key.length : undefined;
}

/** Validates `sa` and returns what the addon takes. Throws ChildSaInvalidError. */
export function toNativeSa(sa: ChildSaInstall, options: SaInstallOptions = {}): NativeSaSpec {
  const id = sa.id;
  const fail = (message: string): never => {
    throw new ChildSaInvalidError(isU32(id) ? id : -1, message);
  };
  if (!isU32(id)) fail('id must be an unsigned 32-bit integer');
  if (sa.tunnel !== 1 && sa.tunnel !== 2) fail('tunnel must be 1 or 2');
  if (!isU32(sa.spiIn) || sa.spiIn === 0) fail('spiIn must be a non-zero 32-bit value (0 is the non-ESP marker)');
  if (!isU32(sa.spiOut) || sa.spiOut === 0) fail('spiOut must be a non-zero 32-bit value (0 is the non-ESP marker)');

  const enc = ENCRYPTION.find((e) => e.name === sa.encryption);
  if (!enc) return fail(`unknown encryption ${String(sa.encryption)}`);
  const encBytes = enc.keyBits / 8 + enc.saltBytes;
  for (const [field, key] of [['encKeyIn', sa.encKeyIn], ['encKeyOut', sa.encKeyOut]] as const) {
    const n = lengthOf(key);
    if (n !== encBytes) fail(`${field} must be ${encBytes} bytes for ${enc.name}${enc.aead ? ' (key + 4-byte salt)' : ''}, got ${n ?? 'none'}`);
  }
  let integrity: string | undefined;
  if (enc.aead) {
    if (sa.integrity !== undefined) fail(`${enc.name} is AEAD and takes no integrity transform`);
    if (sa.integKeyIn !== undefined || sa.integKeyOut !== undefined) fail(`${enc.name} takes no integrity keys`);
  } else {
    const integ = INTEGRITY.find((i) => i.name === sa.integrity);
    if (!integ) return fail(`${enc.name} needs an integrity transform, got ${String(sa.integrity)}`);
    integrity = integ.name;
    for (const [field, key] of [['integKeyIn', sa.integKeyIn], ['integKeyOut', sa.integKeyOut]] as const) {
      const n = lengthOf(key);
      if (n !== integ.keyBytes) fail(`${field} must be ${integ.keyBytes} bytes for ${integ.name}, got ${n ?? 'none'}`);
    }
  }

  if (!sa.remote || parseIpv4(sa.remote.address) === undefined) fail('remote address must be a dotted-quad IPv4 address');
  if (!Number.isInteger(sa.remote.port) || sa.remote.port < 1 || sa.remote.port > 65535) fail('remote port must be 1–65535');
  if (!Number.isInteger(sa.replayWindow) || sa.replayWindow < 0 || sa.replayWindow > MAX_REPLAY_WINDOW) {
    fail(`replayWindow must be an integer in 0–${MAX_REPLAY_WINDOW} (0 turns anti-replay off)`);
  }
  const soft = sa.softLifetimeSeconds;
  const hard = sa.hardLifetimeSeconds;
  if (!(Number.isFinite(soft) && soft >= 0) || !(Number.isFinite(hard) && hard >= 0)) {
    fail('lifetimes must be non-negative numbers of seconds (0 = none)');
  }
  if (soft > 0 && hard > 0 && soft > hard) fail('the soft lifetime must not exceed the hard lifetime');

  const limits: Array<['softBytes' | 'hardBytes' | 'softPackets' | 'hardPackets', number | undefined]> = [
    ['softBytes', options.softBytes],
    ['hardBytes', options.hardBytes],
    ['softPackets', options.softPackets],
    ['hardPackets', options.hardPackets],
  ];
  for (const [name, value] of limits) if (value !== undefined && !isCount(value)) fail(`${name} must be a non-negative integer`);
  if (options.initialSequence !== undefined && !(isCount(options.initialSequence) && options.initialSequence <= SEQ_MAX)) {
    fail('initialSequence must be an integer in 0–2^32−1');
  }

  const spec: NativeSaSpec = {
    id: sa.id,
    tunnel: sa.tunnel,
    spiIn: sa.spiIn,
    spiOut: sa.spiOut,
    encryption: enc.name satisfies EncryptionName,
    encKeyIn: sa.encKeyIn,
    encKeyOut: sa.encKeyOut,
    remoteAddress: sa.remote.address,
    remotePort: sa.remote.port,
    replayWindow: sa.replayWindow,
    softMs: Math.round(soft * 1000),
    hardMs: Math.round(hard * 1000),
  };
  if (integrity !== undefined) {
    spec.integrity = integrity;
    spec.integKeyIn = sa.integKeyIn;
    spec.integKeyOut = sa.integKeyOut;
  }
  for (const [name, value] of limits) if (value !== undefined) spec[name] = value;
  if (options.initialSequence !== undefined) spec.initialSequence = options.initialSequence;
  if (options.holdOutbound) spec.holdOutbound = true;
  return spec;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function toNativeFlags(options: TunnelPacketOptions, what: string): Required<NativeTunnelFlags> {
  const mss = options.tcpMss ?? 0;
  if (!Number.isInteger(mss) || mss < 0 || mss > 65535 || (mss > 0 && mss < 88)) {
    throw new DataplaneOptionsError(`${what}: tcpMss must be 0 (off) or an integer in 88–65535`);
  }
  const pathMtu = options.pathMtu ?? 1500;
  if (!Number.isInteger(pathMtu) || pathMtu < 576 || pathMtu > 65535) {
    throw new DataplaneOptionsError(`${what}: pathMtu must be an integer in 576–65535`);
  }
  return {
    mss,
    clearDf: options.clearDf ?? false,
    fragment: options.fragmentBeforeEncryption ?? false,
    pathMtu,
  };
}

/** Validates tunnel options; returns the addon's spec and the resolved view. */
export function toNativeTunnel(options: TunnelOptions): { spec: NativeTunnelSpec; info: Omit<TunnelInfo, 'ifindex'> } {
  const what = `tunnel ${String(options.tunnel)}`;
  if (options.tunnel !== 1 && options.tunnel !== 2) throw new DataplaneOptionsError('tunnel must be 1 or 2');
  if (typeof options.ifname !== 'string' || !IFNAME.test(options.ifname) || options.ifname === '.' || options.ifname === '..') {
    throw new DataplaneOptionsError(`${what}: ifname must be 1–15 characters of [A-Za-z0-9_.-]`);
  }
  if (!Number.isInteger(options.mtu) || options.mtu < 576 || options.mtu > 9216) {
    throw new DataplaneOptionsError(`${what}: mtu must be an integer in 576–9216`);
  }
  const cidr = typeof options.address === 'string' ? parseIpv4Cidr(options.address) : undefined;
  if (!cidr || cidr.prefixLength < 1 || cidr.prefixLength > 30) {
    throw new DataplaneOptionsError(`${what}: address must look like 169.254.10.2/30 (prefix 1–30)`);
  }
  const mask = prefixMask(cidr.prefixLength);
  const network = (cidr.network & mask) >>> 0;
  const host = (cidr.network & ~mask) >>> 0;
  if (host === 0 || host === (~mask >>> 0)) {
    throw new DataplaneOptionsError(`${what}: ${options.address} is the network or broadcast address`);
  }
  let peer = formatIpv4(network + 1);
  if (options.peer !== undefined) {
    const p = parseIpv4(options.peer);
    if (p === undefined || ((p & mask) >>> 0) !== network || p === cidr.network) {
      throw new DataplaneOptionsError(`${what}: peer must be another address in ${options.address}`);
    }
    peer = options.peer;
  } else if (network + 1 === cidr.network) {
    peer = formatIpv4(network + 2);
  }
  const txq = options.txQueueLength ?? 0;
  if (!Number.isInteger(txq) || txq < 0 || txq > 1_000_000) {
    throw new DataplaneOptionsError(`${what}: txQueueLength must be an integer in 0–1000000`);
  }
  const address = formatIpv4(cidr.network);
  return {
    spec: {
      tunnel: options.tunnel,
      ifname: options.ifname,
      mtu: options.mtu,
      address,
      prefixLength: cidr.prefixLength,
      peer,
      txQueueLength: txq,
      disableIpv6: !(options.ipv6 ?? false),
      ...toNativeFlags(options, what),
    },
    info: { tunnel: options.tunnel, ifname: options.ifname, mtu: options.mtu, address, prefixLength: cidr.prefixLength, peer },
  };
}
