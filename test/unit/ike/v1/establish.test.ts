/**
 * Main Mode + Quick Mode between our initiator and our responder, for every suite IKEv1 can
 * negotiate with AWS (AWS Site-to-Site VPN User Guide, Tunnel options: AES-128/256 × SHA-1/SHA2-256/384/512 × DH 2, 14–24 in
 * phase 1; ESP also AES-GCM-16, PFS also group 5), checked on the wire by an independent
 * implementation of the RFC 2409 key schedule (harness/independent.ts).
 */
import { describe, expect, it } from 'vitest';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../../../src/crypto/transforms.js';
import { ExchangeType, NAT_T_PORT, PayloadType, VendorId } from '../../../../src/ike/v1/constants.js';
import { decodeMessage } from '../../../../src/ike/v1/wire/message.js';
import { singleSuitePolicy } from '../../../../src/ike/proposals/policy.js';
import { PSK, tunnelConfig } from '../harness/config.js';
import { verifyIndependently } from './harness/independent.js';
import { AWS_IP, CGW_IP, Pair, currentIkeKeys, expectMirrored, expectSameIkeKeys } from '../harness/pair.js';

const CBC: EncryptionName[] = ['aes128-cbc', 'aes256-cbc'];
const HASHES: IntegrityName[] = ['hmac-sha1-96', 'hmac-sha256-128', 'hmac-sha384-192', 'hmac-sha512-256'];
const PHASE1_GROUPS: DhGroupNumber[] = [2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
const PFS_GROUPS: DhGroupNumber[] = [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];

describe('phase 1 suites', () => {
  for (const encryption of CBC) {
    for (const integrity of HASHES) {
      it(`${encryption} / ${integrity} with every DH group`, () => {
        for (const group of PHASE1_GROUPS) {
          const tunnel = tunnelConfig('ikev1', { ikeEncryption: [encryption], ikeIntegrity: [integrity], ikeDhGroups: [group], pfsGroups: [] });
          const pair = new Pair('ikev1', { tunnel, seed: group }).establish();
          expectMirrored(pair);
          expectSameIkeKeys(pair);
          const keys = currentIkeKeys(pair.cgw);
          expect(keys?.suite).toMatchObject({ encryption, integrity, dhGroup: group });
          if (keys) expect(verifyIndependently(pair, keys, PSK)).toEqual({ quickModes: 1, keymatChecked: 1 });
        }
      });
    }
  }
});

describe('quick mode suites', () => {
  const esp: { encryption: EncryptionName; integrity?: IntegrityName }[] = [
    { encryption: 'aes128-gcm16' },
    { encryption: 'aes256-gcm16' },
    ...CBC.flatMap((encryption) => HASHES.map((integrity) => ({ encryption, integrity }))),
  ];
  for (const suite of esp) {
    it(`ESP ${suite.encryption}${suite.integrity ? ` / ${suite.integrity}` : ''}, without PFS and with each PFS group`, () => {
      for (const pfs of [undefined, ...PFS_GROUPS]) {
        const tunnel = tunnelConfig('ikev1', {
          espEncryption: [suite.encryption],
          espIntegrity: suite.integrity ? [suite.integrity] : ['hmac-sha1-96'],
          pfsGroups: pfs === undefined ? [] : [pfs],
        });
        const pair = new Pair('ikev1', { tunnel, seed: (pfs ?? 1) * 7 }).establish();
        const { cgw } = expectMirrored(pair);
        expect(cgw.encryption).toBe(suite.encryption);
        expect(cgw.integrity).toBe(suite.integrity);
        expect(cgw.pfsGroup).toBe(pfs);
        expect(cgw.encKeyIn.length).toBe((suite.encryption.startsWith('aes256') ? 32 : 16) + (suite.encryption.endsWith('gcm16') ? 4 : 0));
        const keys = currentIkeKeys(pair.cgw);
        if (keys) expect(verifyIndependently(pair, keys, PSK).keymatChecked).toBe(pfs === undefined ? 1 : 0);
      }
    });
  }
});

describe('the wire', () => {
  it('announces NAT-T and DPD, floats to 4500 after message 4 and uses UDP-encapsulated tunnel mode', () => {
    const pair = new Pair('ikev1').establish();
    const sent = pair.cgw.transport.sent;
    const mm1 = decodeMessage(sent[0]?.data ?? Buffer.alloc(0));
    expect(mm1.header.exchangeType).toBe(ExchangeType.IDENTITY_PROTECTION);
    if (mm1.encrypted) throw new Error('MM1 encrypted');
    const vids = mm1.entries.filter((e) => e.type === PayloadType.VENDOR_ID).map((e) => e.raw.subarray(4).toString('hex'));
    expect(vids).toEqual([VendorId.NAT_T_RFC3947.toString('hex'), VendorId.DPD.toString('hex')]);
    const mm = sent.filter((w) => w.data[18] === ExchangeType.IDENTITY_PROTECTION);
    expect(mm.map((w) => w.to.port)).toEqual([500, 500, NAT_T_PORT]);
    expect(sent.filter((w) => w.data[18] === ExchangeType.QUICK_MODE).every((w) => w.from.port === NAT_T_PORT && w.to.port === NAT_T_PORT)).toBe(true);
    const mm3 = decodeMessage(mm[1]?.data ?? Buffer.alloc(0));
    if (mm3.encrypted) throw new Error('MM3 encrypted');
    expect(mm3.entries.filter((e) => e.type === PayloadType.NAT_D)).toHaveLength(2);
    const { cgw, aws } = expectMirrored(pair);
    expect(cgw.local).toEqual({ address: CGW_IP, port: NAT_T_PORT });
    expect(aws.local).toEqual({ address: AWS_IP, port: NAT_T_PORT });
    // Each side claimed a NAT on its own side (forced encapsulation), so each sees one at the peer.
    const status = pair.cgw.connection.status().ikeSas[0];
    expect(status).toMatchObject({ natLocal: false, natRemote: true });
  });

  it('without forced encapsulation and without a NAT it stays on 500 and uses plain tunnel mode', () => {
    const pair = new Pair('ikev1', { cgw: { extra: { forceEncapsulation: false } }, aws: { extra: { forceEncapsulation: false } } }).establish();
    const { cgw } = expectMirrored(pair);
    expect(cgw.local.port).toBe(500);
    const keys = currentIkeKeys(pair.cgw);
    const qm1 = pair.cgw.transport.sent.find((w) => w.data[18] === ExchangeType.QUICK_MODE);
    expect(keys && qm1).toBeTruthy();
  });

  it('through a real NAT in front of the customer gateway: detected, keepalives sent', () => {
    const pair = new Pair('ikev1', { cgw: { address: '10.0.0.2', extra: { forceEncapsulation: false } }, aws: { extra: { forceEncapsulation: false } } });
    pair.net.addNat('10.0.0.2', CGW_IP, 1000);
    pair.establish();
    const cgw = pair.cgw.sink.only();
    const aws = pair.aws.sink.only();
    expect(cgw.spiIn).toBe(aws.spiOut);
    expect(cgw.encKeyIn.equals(aws.encKeyOut)).toBe(true);
    expect(cgw.local).toEqual({ address: '10.0.0.2', port: NAT_T_PORT });
    expect(aws.remote).toEqual({ address: CGW_IP, port: NAT_T_PORT + 1000 });
    expect(pair.cgw.connection.status().ikeSas[0]).toMatchObject({ natLocal: true });
    expect(pair.aws.connection.status().ikeSas[0]).toMatchObject({ natRemote: true });
    pair.run(65_000);
    expect(pair.cgw.transport.keepalives).toBeGreaterThanOrEqual(3);
    expect(pair.aws.transport.keepalives).toBe(0);
  });

  it("the AWS file's minimum ('xml' origin) offers AWS's whole accepted set, strongest first, within 48 transforms", () => {
    const tunnel = tunnelConfig('ikev1', {
      ikeEncryption: ['aes128-cbc'],
      ikeIntegrity: ['hmac-sha1-96'],
      ikeDhGroups: [2],
      pfsGroups: [2],
      origins: { 'ike.encryption': 'xml', 'ike.integrity': 'xml', 'ike.dhGroups': 'xml', 'ipsec.encryption': 'xml', 'ipsec.integrity': 'xml', 'ipsec.pfsGroups': 'xml' },
    });
    const awsOnlyMinimum = tunnelConfig('ikev1', { ikeEncryption: ['aes128-cbc'], ikeIntegrity: ['hmac-sha1-96'], ikeDhGroups: [2], pfsGroups: [2] });
    const pair = new Pair('ikev1', { cgw: { tunnel }, aws: { tunnel: awsOnlyMinimum } }).establish(30_000);
    const mm1 = decodeMessage(pair.cgw.transport.sent[0]?.data ?? Buffer.alloc(0));
    if (mm1.encrypted) throw new Error('MM1 encrypted');
    const sa = mm1.entries[0]?.payload;
    if (sa?.kind !== 'SA') throw new Error('no SA');
    expect(sa.proposals[0]?.transforms.length).toBe(48);
    expect(mm1.header.length).toBeLessThan(2_100);
    // The peer insisting on the minimum still matches; PFS fell back through NO-PROPOSAL-CHOSEN.
    expect(currentIkeKeys(pair.cgw)?.suite).toMatchObject({ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', dhGroup: 2 });
    expect(expectMirrored(pair).cgw.pfsGroup).toBe(2);
  });

  it('a single-suite policy (the lab per-suite runs) is used as given', () => {
    const policy = singleSuitePolicy(
      { aead: false, encryption: ['aes256-cbc'], integrity: ['hmac-sha384-192'], prf: ['prf-hmac-sha384'], dhGroups: [20] },
      { aead: true, encryption: ['aes256-gcm16'], integrity: [], dhGroups: [21] },
    );
    const pair = new Pair('ikev1', { cgw: { extra: { policy } }, aws: { extra: { policy } } }).establish();
    expect(currentIkeKeys(pair.cgw)?.suite).toMatchObject({ encryption: 'aes256-cbc', integrity: 'hmac-sha384-192', dhGroup: 20 });
    expect(expectMirrored(pair).cgw).toMatchObject({ encryption: 'aes256-gcm16', pfsGroup: 21 });
  });

  it('IKEv1 cannot protect the ISAKMP SA with AES-GCM: a GCM-only phase 1 configuration is refused at construction', () => {
    expect(() => new Pair('ikev1', { tunnel: tunnelConfig('ikev1', { ikeEncryption: ['aes128-gcm16'] }) })).toThrow(/AES-GCM/);
  });

  it('sends INITIAL-CONTACT on first contact only, inside the encrypted MM5', () => {
    const pair = new Pair('ikev1').establish();
    const keys = currentIkeKeys(pair.cgw);
    expect(keys).toBeDefined();
    const mm5 = pair.cgw.transport.sent.find((w) => w.data[18] === ExchangeType.IDENTITY_PROTECTION && ((w.data[19] ?? 0) & 1) === 1);
    const decoded = decodeMessage(mm5?.data ?? Buffer.alloc(0));
    expect(decoded.encrypted).toBe(true);
    expect(pair.aws.connection.status().ikeSas[0]?.state).toBe('established');
  });
});
