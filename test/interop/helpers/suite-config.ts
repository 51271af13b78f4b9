/**
 * Builds a describe-vpn-connections JSON from a lab XML file with TunnelOptions
 * that pin one suite, so that the same file narrows both ends: the lab's AWS
 * side accepts exactly that suite and cgwd proposes exactly that suite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../../src/crypto/transforms.js';
import { encryptionByName, integrityByName } from '../../../src/crypto/transforms.js';

export interface PinnedSuite {
  ikeEncryption: EncryptionName;
  ikeIntegrity: IntegrityName;
  ikeDh: DhGroupNumber;
  espEncryption: EncryptionName;
  espIntegrity: IntegrityName;
  pfsDh: DhGroupNumber;
  ikeVersion?: 'ikev1' | 'ikev2';
  phase1Lifetime?: number;
  phase2Lifetime?: number;
  rekeyMargin?: number;
}

const values = <T>(items: readonly T[]) => items.map((Value) => ({ Value }));

export function suiteName(s: PinnedSuite): string {
  const integ = (e: EncryptionName, i: IntegrityName) => (e.endsWith('gcm16') ? '' : `/${i}`);
  return `IKE ${s.ikeEncryption}${integ(s.ikeEncryption, s.ikeIntegrity)}/dh${s.ikeDh}, ESP ${s.espEncryption}${integ(s.espEncryption, s.espIntegrity)}/pfs${s.pfsDh}`;
}

export function writePinnedConfig(xmlPath: string, outPath: string, suite: PinnedSuite): string {
  const xml = readFileSync(xmlPath, 'utf8');
  const tunnels = [...xml.matchAll(/<vpn_gateway>\s*<tunnel_outside_address>\s*<ip_address>([\d.]+)<\/ip_address>/g)].map((m) => m[1]);
  const connectionId = /<vpn_connection id="([^"]+)"/.exec(xml)?.[1] ?? 'vpn-lab';
  const tunnelOptions = tunnels.map((outside) => ({
    OutsideIpAddress: outside,
    Phase1EncryptionAlgorithms: values([encryptionByName(suite.ikeEncryption).awsJson[0]]),
    Phase1IntegrityAlgorithms: values([integrityByName(suite.ikeIntegrity).awsJson[0]]),
    Phase1DHGroupNumbers: values([suite.ikeDh]),
    Phase2EncryptionAlgorithms: values([encryptionByName(suite.espEncryption).awsJson[0]]),
    Phase2IntegrityAlgorithms: values([integrityByName(suite.espIntegrity).awsJson[0]]),
    Phase2DHGroupNumbers: values([suite.pfsDh]),
    IkeVersions: values([suite.ikeVersion ?? 'ikev2']),
    ...(suite.phase1Lifetime ? { Phase1LifetimeSeconds: suite.phase1Lifetime } : {}),
    ...(suite.phase2Lifetime ? { Phase2LifetimeSeconds: suite.phase2Lifetime } : {}),
    ...(suite.rekeyMargin ? { RekeyMarginTimeSeconds: suite.rekeyMargin } : {}),
  }));
  const json = {
    VpnConnections: [
      {
        VpnConnectionId: connectionId,
        Options: { StaticRoutesOnly: /NoBGPVPNConnection/.test(xml), TunnelOptions: tunnelOptions },
        CustomerGatewayConfiguration: xml,
      },
    ],
  };
  writeFileSync(outPath, JSON.stringify(json, null, 2));
  return outPath;
}
