/** A TunnelConfig for the IKEv1 tests: every list pinned ('tunnel-options') unless overridden. */
import { Secret } from '../../../../../src/config/secret.js';
import { TUNNEL_SETTING_KEYS, type SettingOrigin, type TunnelConfig, type TunnelOrigins } from '../../../../../src/config/model.js';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../../../../src/crypto/transforms.js';

export const CGW_IP = '198.51.100.10';
export const AWS_IP = '203.0.113.20';
export const PSK = 'v1.test_psk_0123456789';

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

export function tunnelConfig(o: TunnelOverrides = {}): TunnelConfig {
  const explicit = Object.fromEntries(TUNNEL_SETTING_KEYS.map((k) => [k, o.origins?.[k] ?? 'tunnel-options'])) as TunnelOrigins;
  return {
    index: 1,
    customer: { outsideAddress: CGW_IP, insideAddress: '169.254.10.2' },
    aws: { outsideAddress: AWS_IP, insideAddress: '169.254.10.1' },
    insideCidr: '169.254.10.0/30',
    psk: new Secret(o.psk ?? PSK),
    ike: {
      versions: ['ikev1'],
      encryption: o.ikeEncryption ?? ['aes128-cbc'],
      integrity: o.ikeIntegrity ?? ['hmac-sha1-96'],
      dhGroups: o.ikeDhGroups ?? [14],
      lifetimeSeconds: o.ikeLifetimeSeconds ?? 28_800,
      mode: 'main',
    },
    ipsec: {
      encryption: o.espEncryption ?? ['aes128-cbc'],
      integrity: o.espIntegrity ?? ['hmac-sha1-96'],
      pfsGroups: o.pfsGroups ?? [14],
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
