/**
 * A TunnelConfig for the IKE tests, with every algorithm list pinned ('tunnel-options') unless
 * overridden. The default suites differ by version on purpose: IKEv2 runs AES-GCM for ESP (the
 * AEAD path), IKEv1 AWS's CBC + SHA-1 minimum with group 14 (IKEv1 cannot protect its ISAKMP
 * SA with an AEAD, and the independent checker in v1/harness decrypts CBC).
 */
import { Secret } from '../../../../src/config/secret.js';
import { TUNNEL_SETTING_KEYS, type SettingOrigin, type TunnelConfig, type TunnelOrigins } from '../../../../src/config/model.js';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../../../src/crypto/transforms.js';

export type IkeVersion = 'ikev1' | 'ikev2';

export const CGW_IP = '198.51.100.10';
export const AWS_IP = '203.0.113.20';
export const PSK = 'test.psk_0123456789abcdef';

export interface TunnelOverrides {
  ikeEncryption?: EncryptionName[];
  ikeIntegrity?: IntegrityName[];
  ikeDhGroups?: DhGroupNumber[];
  espEncryption?: EncryptionName[];
  espIntegrity?: IntegrityName[];
  pfsGroups?: DhGroupNumber[];
  psk?: string;
  origins?: Partial<Record<string, SettingOrigin>>;
  ikeLifetimeSeconds?: number;
  childLifetimeSeconds?: number;
  rekeyMarginSeconds?: number;
  rekeyFuzzPercent?: number;
  dpdIntervalSeconds?: number;
  dpdRetries?: number;
}

const DEFAULT_SUITES = {
  ikev2: {
    ike: { encryption: ['aes128-cbc'], integrity: ['hmac-sha256-128'], dhGroups: [19] },
    esp: { encryption: ['aes128-gcm16'], integrity: ['hmac-sha256-128'], pfsGroups: [19] },
  },
  ikev1: {
    ike: { encryption: ['aes128-cbc'], integrity: ['hmac-sha1-96'], dhGroups: [14] },
    esp: { encryption: ['aes128-cbc'], integrity: ['hmac-sha1-96'], pfsGroups: [14] },
  },
} as const satisfies Record<
  IkeVersion,
  {
    ike: { encryption: readonly EncryptionName[]; integrity: readonly IntegrityName[]; dhGroups: readonly DhGroupNumber[] };
    esp: { encryption: readonly EncryptionName[]; integrity: readonly IntegrityName[]; pfsGroups: readonly DhGroupNumber[] };
  }
>;

export function tunnelConfig(version: IkeVersion, o: TunnelOverrides = {}): TunnelConfig {
  const explicit = Object.fromEntries(TUNNEL_SETTING_KEYS.map((k) => [k, o.origins?.[k] ?? 'tunnel-options'])) as TunnelOrigins;
  const suites = DEFAULT_SUITES[version];
  return {
    index: 1,
    customer: { outsideAddress: CGW_IP, insideAddress: '169.254.10.2' },
    aws: { outsideAddress: AWS_IP, insideAddress: '169.254.10.1' },
    insideCidr: '169.254.10.0/30',
    psk: new Secret(o.psk ?? PSK),
    ike: {
      versions: [version],
      encryption: o.ikeEncryption ?? [...suites.ike.encryption],
      integrity: o.ikeIntegrity ?? [...suites.ike.integrity],
      dhGroups: o.ikeDhGroups ?? [...suites.ike.dhGroups],
      lifetimeSeconds: o.ikeLifetimeSeconds ?? 28_800,
      mode: 'main',
    },
    ipsec: {
      encryption: o.espEncryption ?? [...suites.esp.encryption],
      integrity: o.espIntegrity ?? [...suites.esp.integrity],
      pfsGroups: o.pfsGroups ?? [...suites.esp.pfsGroups],
      lifetimeSeconds: o.childLifetimeSeconds ?? 3_600,
      rekeyMarginSeconds: o.rekeyMarginSeconds ?? 270,
      rekeyFuzzPercent: o.rekeyFuzzPercent ?? 100,
      replayWindow: 1024,
      mode: 'tunnel',
      clearDf: true,
      fragmentBeforeEncryption: true,
      tcpMss: 1379,
    },
    dpd: { intervalSeconds: o.dpdIntervalSeconds ?? 10, retries: o.dpdRetries ?? 3, timeoutSeconds: 30, action: 'restart' },
    startupAction: 'add',
    explicit,
  };
}
