/** Offers and selection (RFC 2409 §5, App. A; RFC 2407 §4.5; RFC 4106 §8.4). */
import { describe, expect, it } from 'vitest';
import { EncapsulationMode, EspTransformId, IpsecAttribute, LifeType, Phase1Attribute } from '../../../../src/ike/v1/constants.js';
import {
  MAX_LIFETIME_SECONDS,
  PHASE1_MAX_TRANSFORMS,
  checkPhase1Answer,
  checkPhase2Answer,
  parsePhase2Transform,
  phase1Choices,
  phase1Offer,
  phase2Choices,
  phase2Offer,
  responderLifetimeSeconds,
  selectPhase1,
  selectPhase2,
} from '../../../../src/ike/v1/proposals.js';
import { tv, numberAttribute, encodeAttributes } from '../../../../src/ike/v1/wire/attributes.js';
import { Writer } from '../../../../src/wire/buffer.js';
import { proposalPolicyFor } from '../../../../src/ike/proposals/policy.js';
import { tunnelConfig } from '../harness/config.js';

const XML = { 'ike.encryption': 'xml', 'ike.integrity': 'xml', 'ike.dhGroups': 'xml', 'ipsec.encryption': 'xml', 'ipsec.integrity': 'xml', 'ipsec.pfsGroups': 'xml' } as const;

describe('phase 1', () => {
  it("offers AWS's accepted set for the file's minimum, capped, keeping the file's own suite, no AES-GCM", () => {
    const tunnel = tunnelConfig('ikev1', { ikeEncryption: ['aes128-cbc'], ikeIntegrity: ['hmac-sha1-96'], ikeDhGroups: [2], origins: XML });
    const choices = phase1Choices(proposalPolicyFor(tunnel), tunnel);
    expect(choices).toHaveLength(PHASE1_MAX_TRANSFORMS);
    expect(choices[0]).toEqual({ encryption: 'aes256-cbc', integrity: 'hmac-sha512-256', dhGroup: 21 });
    expect(choices).toContainEqual({ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', dhGroup: 2 });
    expect(choices.every((c) => c.encryption.endsWith('cbc'))).toBe(true);
  });

  it('offers exactly what TunnelOptions pin', () => {
    const tunnel = tunnelConfig('ikev1', { ikeEncryption: ['aes256-cbc'], ikeIntegrity: ['hmac-sha256-128', 'hmac-sha1-96'], ikeDhGroups: [14, 19] });
    expect(phase1Choices(proposalPolicyFor(tunnel), tunnel)).toEqual([
      { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128', dhGroup: 19 },
      { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128', dhGroup: 14 },
      { encryption: 'aes256-cbc', integrity: 'hmac-sha1-96', dhGroup: 19 },
      { encryption: 'aes256-cbc', integrity: 'hmac-sha1-96', dhGroup: 14 },
    ]);
  });

  it('the responder takes the first acceptable transform in the peer order; the initiator checks the answer', () => {
    const ours = phase1Choices(proposalPolicyFor(tunnelConfig('ikev1', { ikeDhGroups: [14, 19] })));
    const offer = phase1Offer([{ encryption: 'aes256-cbc', integrity: 'hmac-sha512-256', dhGroup: 21 }, ...ours.slice().reverse()], 27_000);
    const selection = selectPhase1(offer, ours);
    if ('reason' in selection) throw new Error(selection.reason);
    expect(selection.suite).toEqual({ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', dhGroup: 14, lifetimeSeconds: 27_000 });
    expect(selection.answer.proposals[0]?.transforms).toHaveLength(1);
    expect(checkPhase1Answer(selection.answer, ours, 27_000)).toMatchObject({ dhGroup: 14 });
    expect(checkPhase1Answer(offer, ours, 27_000)).toBe('answer must hold one transform');
    const other = phase1Offer([{ encryption: 'aes256-cbc', integrity: 'hmac-sha512-256', dhGroup: 21 }], 27_000);
    expect(checkPhase1Answer(other, ours, 27_000)).toMatch(/was not offered/);
  });

  it('huge lifetimes are bounded to a day', () => {
    const offer = phase1Offer([{ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', dhGroup: 14 }], 28_800);
    const t = offer.proposals[0]?.transforms[0];
    if (!t) throw new Error('no transform');
    const huge = { ...t, attributes: t.attributes.map((a) => (a.type === Phase1Attribute.LIFE_DURATION ? numberAttribute(a.type, 10 ** 12) : a)) };
    const s = selectPhase1({ ...offer, proposals: [{ ...offer.proposals[0]!, transforms: [huge] }] }, [{ encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', dhGroup: 14 }]);
    expect('suite' in s && s.suite.lifetimeSeconds).toBe(MAX_LIFETIME_SECONDS);
  });
});

describe('phase 2', () => {
  const policy = proposalPolicyFor(tunnelConfig('ikev1', { espEncryption: ['aes256-gcm16', 'aes128-cbc'], espIntegrity: ['hmac-sha256-128'], pfsGroups: [20] }));
  const choices = phase2Choices(policy);

  it('GCM without an authentication attribute, CBC with one; the PFS group in every transform; UDP tunnel mode', () => {
    const offer = phase2Offer(choices, 0x11223344, 20, 3_240, true);
    const transforms = offer.proposals[0]?.transforms ?? [];
    expect(transforms.map((t) => t.transformId)).toEqual([EspTransformId.AES_GCM_16, EspTransformId.AES_CBC]);
    expect(transforms[0]?.attributes.some((a) => a.type === IpsecAttribute.AUTHENTICATION_ALGORITHM)).toBe(false);
    expect(transforms[1]?.attributes).toContainEqual(tv(IpsecAttribute.AUTHENTICATION_ALGORITHM, 5));
    for (const t of transforms) {
      expect(t.attributes).toContainEqual(tv(IpsecAttribute.GROUP_DESCRIPTION, 20));
      expect(t.attributes).toContainEqual(tv(IpsecAttribute.ENCAPSULATION_MODE, EncapsulationMode.UDP_TUNNEL));
    }
    expect(offer.proposals[0]?.spi.toString('hex')).toBe('11223344');
  });

  it('selection enforces PFS, the group, the encapsulation mode and the suite', () => {
    const offer = phase2Offer(choices, 0x11223344, 20, 3_240, true);
    const req = { choices, pfsGroups: [20 as const], kePresent: true, udp: true };
    const ok = selectPhase2(offer, req);
    expect('suite' in ok && ok.suite).toMatchObject({ encryption: 'aes256-gcm16', dhGroup: 20, lifetimeSeconds: 3_240, encapsulation: 3 });
    expect('reason' in selectPhase2(offer, { ...req, kePresent: false })).toBe(true);
    expect('reason' in selectPhase2(offer, { ...req, udp: false })).toBe(true);
    expect('reason' in selectPhase2(offer, { ...req, pfsGroups: [14] })).toBe(true);
    expect('reason' in selectPhase2(phase2Offer(choices, 0x11223344, undefined, 3_240, true), req)).toBe(true);
    expect('reason' in selectPhase2(phase2Offer(choices, 0, 20, 3_240, true), req)).toBe(true);
    if ('suite' in ok) {
      const answer = { ...offer, proposals: [{ ...offer.proposals[0]!, spi: Buffer.from([0, 0, 1, 0]), transforms: [ok.transform] }] };
      expect(checkPhase2Answer(answer, req, 3_000)).toMatchObject({ peerSpi: 256, suite: { lifetimeSeconds: 3_000 } });
    }
  });

  it('kilobyte lifetimes are read alongside seconds; ESN and transport mode are refused', () => {
    const t = {
      number: 1,
      transformId: EspTransformId.AES_CBC,
      attributes: [tv(IpsecAttribute.SA_LIFE_TYPE, LifeType.SECONDS), tv(IpsecAttribute.SA_LIFE_DURATION, 3600), tv(IpsecAttribute.SA_LIFE_TYPE, LifeType.KILOBYTES), numberAttribute(IpsecAttribute.SA_LIFE_DURATION, 4_608_000), tv(IpsecAttribute.ENCAPSULATION_MODE, 3), tv(IpsecAttribute.AUTHENTICATION_ALGORITHM, 2), tv(IpsecAttribute.KEY_LENGTH, 128)],
    };
    expect(parsePhase2Transform(t)).toMatchObject({ ok: true, suite: { lifetimeSeconds: 3600, lifetimeKilobytes: 4_608_000 } });
    expect(parsePhase2Transform({ ...t, attributes: [...t.attributes, tv(IpsecAttribute.EXTENDED_SEQUENCE_NUMBER, 1)] }).ok).toBe(false);
    expect(parsePhase2Transform({ ...t, attributes: t.attributes.map((a) => (a.type === IpsecAttribute.ENCAPSULATION_MODE ? tv(a.type, 2) : a)) }).ok).toBe(false);
  });

  it('RESPONDER-LIFETIME notify data (RFC 2407 §4.6.3.1)', () => {
    const w = new Writer();
    encodeAttributes(w, [tv(IpsecAttribute.SA_LIFE_TYPE, LifeType.SECONDS), numberAttribute(IpsecAttribute.SA_LIFE_DURATION, 1800)]);
    expect(responderLifetimeSeconds(w.finish())).toBe(1800);
    expect(responderLifetimeSeconds(Buffer.from([0x00, 0x02, 0xff, 0xff]))).toBeUndefined();
  });
});
