/**
 * Proposals: what cgwd offers for a tunnel (the AWS file's minimum widened to AWS's accepted
 * set, or exactly the TunnelOptions lists), how a responder chooses from a peer's offer
 * (RFC 7296 §2.7, §3.3.6), and how an initiator checks the single answer it gets back.
 */
import { describe, expect, it } from 'vitest';
import { TransformType } from '../../../../src/crypto/transforms.js';
import { ProtocolId } from '../../../../src/ike/v2/wire/constants.js';
import type { Proposal, Transform } from '../../../../src/ike/v2/wire/sa.js';
import { InvalidResponseError } from '../../../../src/ike/errors.js';
import { proposalPolicyFor } from '../../../../src/ike/proposals/policy.js';
import {
  buildChildProposals,
  buildIkeProposals,
  dhTransform,
  encryptionTransform,
  integrityTransform,
  prfTransform,
  selectChildProposal,
  selectIkeProposal,
  verifyChildAnswer,
  verifyIkeAnswer,
} from '../../../../src/ike/v2/proposals/proposals.js';
import { tunnelConfig } from '../harness/config.js';

const xmlOrigins = {
  'ike.encryption': 'xml',
  'ike.integrity': 'xml',
  'ike.dhGroups': 'xml',
  'ipsec.encryption': 'xml',
  'ipsec.integrity': 'xml',
  'ipsec.pfsGroups': 'xml',
} as const;

const ESN_NONE: Transform = { type: TransformType.ESN, id: 0, attributes: [] };

describe('offers from the tunnel configuration', () => {
  it("widens the XML's minimum to AWS's accepted set, strongest first, minimum included", () => {
    const tunnel = tunnelConfig('ikev2', {
      ikeEncryption: ['aes128-cbc'],
      ikeIntegrity: ['hmac-sha1-96'],
      ikeDhGroups: [2],
      espEncryption: ['aes128-cbc'],
      espIntegrity: ['hmac-sha1-96'],
      pfsGroups: [2],
      origins: xmlOrigins,
    });
    const policy = proposalPolicyFor(tunnel);
    expect(policy.ike).toHaveLength(2);
    const [aead, cbc] = policy.ike;
    expect(aead).toMatchObject({ aead: true, encryption: ['aes256-gcm16', 'aes128-gcm16'], integrity: [] });
    expect(cbc).toMatchObject({ aead: false, encryption: ['aes256-cbc', 'aes128-cbc'] });
    expect(cbc?.integrity).toEqual(['hmac-sha512-256', 'hmac-sha384-192', 'hmac-sha256-128', 'hmac-sha1-96']);
    // GCM for the IKE SA always with a PRF (RFC 7296 §3.3.3; AWS refuses it otherwise).
    expect(aead?.prf).toEqual(['prf-hmac-sha512', 'prf-hmac-sha384', 'prf-hmac-sha256', 'prf-hmac-sha1']);
    expect(cbc?.dhGroups).toEqual([21, 18, 20, 17, 16, 19, 15, 14, 24, 23, 22, 2]);
    expect(cbc?.dhGroups).not.toContain(5); // phase 1 never uses group 5
    expect(policy.child[0]?.dhGroups).toContain(5);
    expect(policy.child[0]?.dhGroups.at(-1)).toBe(2);
    expect(policy.ikeKeGroup).toBe(21);
  });

  it('offers exactly the TunnelOptions lists', () => {
    const tunnel = tunnelConfig('ikev2', {
      ikeEncryption: ['aes256-cbc'],
      ikeIntegrity: ['hmac-sha256-128'],
      ikeDhGroups: [14, 20],
      espEncryption: ['aes128-gcm16'],
      pfsGroups: [14],
    });
    const policy = proposalPolicyFor(tunnel);
    expect(policy.ike).toEqual([
      { aead: false, encryption: ['aes256-cbc'], integrity: ['hmac-sha256-128'], prf: ['prf-hmac-sha256'], dhGroups: [20, 14] },
    ]);
    expect(policy.child).toEqual([{ aead: true, encryption: ['aes128-gcm16'], integrity: [], dhGroups: [14] }]);
    expect(policy.childKeGroup).toBe(14);
  });

  it('IKE proposals: AEAD and non-AEAD apart, numbered from 1, Key Length attributes set', () => {
    const policy = proposalPolicyFor(tunnelConfig('ikev2', { ikeEncryption: ['aes128-gcm16', 'aes256-cbc'] }));
    const proposals = buildIkeProposals(policy.ike, Buffer.alloc(0));
    expect(proposals.map((p) => p.number)).toEqual([1, 2]);
    expect(proposals[0]?.transforms.some((t) => t.type === TransformType.INTEG)).toBe(false);
    expect(proposals[1]?.transforms.find((t) => t.type === TransformType.ENCR)?.attributes).toEqual([{ format: 'TV', type: 14, value: 256 }]);
  });

  it('ESP proposals: no DH in IKE_AUTH (RFC 7296 §1.2); the KE group first when rekeying with PFS; ESN none', () => {
    const policy = proposalPolicyFor(tunnelConfig('ikev2', { pfsGroups: [14, 19] }));
    const spi = Buffer.from([0, 0, 1, 0]);
    const inAuth = buildChildProposals(policy.child, spi, undefined);
    expect(inAuth[0]?.transforms.some((t) => t.type === TransformType.DH)).toBe(false);
    const inRekey = buildChildProposals(policy.child, spi, 14);
    expect(inRekey[0]?.transforms.filter((t) => t.type === TransformType.DH).map((t) => t.id)).toEqual([14, 19]);
    expect(inRekey[0]?.transforms.at(-1)).toEqual(ESN_NONE);
  });
});

describe('responder selection', () => {
  const policy = proposalPolicyFor(tunnelConfig('ikev2', { ikeEncryption: ['aes128-cbc', 'aes256-cbc'], ikeIntegrity: ['hmac-sha1-96', 'hmac-sha256-128'], ikeDhGroups: [14, 19] }));
  const ike = (number: number, transforms: Transform[]): Proposal => ({ number, protocolId: ProtocolId.IKE, spi: Buffer.alloc(0), transforms });

  it("takes the first acceptable transform in the peer's order and prefers the KE payload's group", () => {
    const offer = [
      ike(1, [encryptionTransform('aes256-gcm16'), prfTransform('prf-hmac-sha256'), dhTransform(19)]), // AEAD not allowed here
      ike(2, [encryptionTransform('aes256-cbc'), encryptionTransform('aes128-cbc'), prfTransform('prf-hmac-sha256'), integrityTransform('hmac-sha256-128'), dhTransform(14), dhTransform(19)]),
    ];
    const chosen = selectIkeProposal(offer, policy.ike, 19);
    expect(chosen?.offered.number).toBe(2);
    expect(chosen?.suite).toEqual({ encryption: 'aes256-cbc', integrity: 'hmac-sha256-128', prf: 'prf-hmac-sha256', dhGroup: 19 });
    expect(selectIkeProposal(offer, policy.ike, 1025)?.suite.dhGroup).toBe(14);
  });

  it('skips proposals with unknown transform types or attributes, and AEAD with integrity', () => {
    const base = [encryptionTransform('aes128-cbc'), prfTransform('prf-hmac-sha1'), integrityTransform('hmac-sha1-96'), dhTransform(14)];
    expect(selectIkeProposal([ike(1, [...base, { type: 99, id: 1, attributes: [] }])], policy.ike, 14)).toBeUndefined();
    const oddAttribute: Transform = { ...encryptionTransform('aes128-cbc'), attributes: [{ format: 'TV', type: 14, value: 128 }, { format: 'TV', type: 15, value: 1 }] };
    expect(selectIkeProposal([ike(1, [oddAttribute, ...base.slice(1)])], policy.ike, 14)).toBeUndefined();
    expect(selectIkeProposal([ike(1, base)], policy.ike, 14)?.suite.encryption).toBe('aes128-cbc');
    const gccPolicy = proposalPolicyFor(tunnelConfig('ikev2', { ikeEncryption: ['aes128-gcm16'] }));
    const aeadWithInteg = [ike(1, [encryptionTransform('aes128-gcm16'), prfTransform('prf-hmac-sha256'), integrityTransform('hmac-sha256-128'), dhTransform(19)])];
    expect(selectIkeProposal(aeadWithInteg, gccPolicy.ike, 19)).toBeUndefined();
  });

  it('ESP: refuses ESN-only offers; with PFS configured a proposal must carry an allowed DH group', () => {
    const child = proposalPolicyFor(tunnelConfig('ikev2', { espEncryption: ['aes128-cbc'], espIntegrity: ['hmac-sha1-96'], pfsGroups: [14] })).child;
    const esp = (transforms: Transform[]): Proposal[] => [{ number: 1, protocolId: ProtocolId.ESP, spi: Buffer.from([1, 2, 3, 4]), transforms }];
    const base = [encryptionTransform('aes128-cbc'), integrityTransform('hmac-sha1-96')];
    expect(selectChildProposal(esp([...base, { type: TransformType.ESN, id: 1, attributes: [] }]), child, { ignoreDh: true, keGroup: undefined })).toBeUndefined();
    expect(selectChildProposal(esp([...base, ESN_NONE]), child, { ignoreDh: true, keGroup: undefined })?.suite).toEqual({ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96' });
    expect(selectChildProposal(esp([...base, ESN_NONE]), child, { ignoreDh: false, keGroup: undefined })).toBeUndefined();
    expect(selectChildProposal(esp([...base, dhTransform(14), ESN_NONE]), child, { ignoreDh: false, keGroup: 14 })?.suite.dhGroup).toBe(14);
  });
});

describe('initiator checks of the answer', () => {
  const policy = proposalPolicyFor(tunnelConfig('ikev2', { ikeEncryption: ['aes128-cbc'], ikeIntegrity: ['hmac-sha256-128'], ikeDhGroups: [14, 19] }));
  const sent = buildIkeProposals(policy.ike, Buffer.alloc(0));
  const answer = (transforms: Transform[], number = 1): Proposal[] => [{ number, protocolId: ProtocolId.IKE, spi: Buffer.alloc(0), transforms }];
  const good = [encryptionTransform('aes128-cbc'), prfTransform('prf-hmac-sha256'), integrityTransform('hmac-sha256-128'), dhTransform(19)];

  it('accepts one of the offered combinations', () => {
    expect(verifyIkeAnswer(answer(good), sent, 'IKE_SA_INIT').suite).toEqual({ encryption: 'aes128-cbc', integrity: 'hmac-sha256-128', prf: 'prf-hmac-sha256', dhGroup: 19 });
  });

  it.each([
    ['a transform we never offered', answer([...good.slice(0, 3), dhTransform(2)])],
    ['two transforms of one type', answer([...good, dhTransform(14)])],
    ['a proposal number we never used', answer(good, 2)],
    ['two proposals', [...answer(good), ...answer(good)]],
    ['no DH', answer(good.slice(0, 3))],
  ])('rejects %s', (_name, bad) => {
    expect(() => verifyIkeAnswer(bad, sent, 'IKE_SA_INIT')).toThrow(InvalidResponseError);
  });

  it('ESP answer: must keep the PFS group we offered and carry a real SPI', () => {
    const child = proposalPolicyFor(tunnelConfig('ikev2', { pfsGroups: [19] })).child;
    const sentEsp = buildChildProposals(child, Buffer.from([0, 0, 2, 0]), 19);
    const esp = (transforms: Transform[], spi = Buffer.from([0, 0, 9, 9])): Proposal[] => [{ number: 1, protocolId: ProtocolId.ESP, spi, transforms }];
    expect(verifyChildAnswer(esp([encryptionTransform('aes128-gcm16'), dhTransform(19), ESN_NONE]), sentEsp, 'x').suite).toEqual({ encryption: 'aes128-gcm16', dhGroup: 19 });
    expect(() => verifyChildAnswer(esp([encryptionTransform('aes128-gcm16'), ESN_NONE]), sentEsp, 'x')).toThrow(/PFS/);
    expect(() => verifyChildAnswer(esp([encryptionTransform('aes128-gcm16'), dhTransform(19), ESN_NONE], Buffer.alloc(4)), sentEsp, 'x')).toThrow(/SPI/);
  });
});
