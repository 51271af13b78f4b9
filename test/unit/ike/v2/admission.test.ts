/**
 * What a spoofed IKE_SA_INIT flood can buy (issue 13, findings 1 and 6): each bogus request costs
 * a range check, not a key pair; COOKIEs are demanded on the request rate, not only on the
 * half-open count; the COOKIE secret rotates and old cookies stop working; refusals are logged
 * once and then summarised per period, not once per request.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DhKeyPair } from '../../../../src/crypto/dh.js';
import { proposalPolicyFor } from '../../../../src/ike/proposals/policy.js';
import { CookieJar, COOKIE_SECRET_LIFETIME_MS } from '../../../../src/ike/v2/cookies.js';
import { buildIkeProposals } from '../../../../src/ike/v2/proposals/proposals.js';
import { ExchangeType, NotifyType } from '../../../../src/ike/v2/wire/constants.js';
import { decodeMessage } from '../../../../src/ike/v2/wire/message.js';
import type { NotifyPayload, Payload } from '../../../../src/ike/v2/wire/payloads.js';
import { createLogger } from '../../../../src/log/index.js';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { AWS_IP, tunnelConfig } from '../harness/config.js';
import { Pair, expectMirrored } from '../harness/pair.js';
import { SeededRandom } from '../harness/seeded-random.js';
import { inject, plain } from './harness/craft.js';
import { sentBy } from './harness/messages.js';

const GROUP2 = tunnelConfig('ikev2', { ikeDhGroups: [2] });
const policy = proposalPolicyFor(GROUP2);

function bogusInit(i: number, extra: Payload[] = []): Buffer {
  const spiI = Buffer.alloc(8);
  spiI.writeUInt32BE(i + 1, 4);
  const payloads: Payload[] = [
    ...extra,
    { kind: 'SA', proposals: buildIkeProposals(policy.ike, Buffer.alloc(0)) },
    { kind: 'KE', group: 2, data: Buffer.alloc(128) }, // y = 0: invalid (RFC 6989 §2.1)
    { kind: 'Nonce', nonce: Buffer.alloc(32, i & 0xff) },
  ];
  return plain({ spiI }, payloads);
}

function answersNotifies(pair: Pair<'ikev2'>): number[][] {
  const out = pair.net.queue.filter((d) => d.from.address === AWS_IP).map((d) => decodeMessage(d.data).payloads.filter((p): p is NotifyPayload => p.kind === 'N').map((n) => n.notifyType));
  pair.net.queue.splice(0, pair.net.queue.length);
  return out;
}

function capturingPair(lines: string[]): Pair<'ikev2'> {
  const logger = createLogger({ level: 'info', output: { write: (line: string) => void lines.push(line) } });
  const pair = new Pair('ikev2', { tunnel: GROUP2, aws: { extra: { logger } } });
  pair.net.setManual(true);
  pair.aws.connection.start();
  return pair;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a spoofed IKE_SA_INIT flood (group 2, KE = 0)', () => {
  it('no key pair is made for an invalid KE', () => {
    const pair = capturingPair([]);
    const generate = vi.spyOn(DhKeyPair, 'generate');
    inject(pair, 'aws', bogusInit(0), 500);
    expect(answersNotifies(pair)).toEqual([[NotifyType.NO_PROPOSAL_CHOSEN]]);
    expect(generate).not.toHaveBeenCalled();
  });

  it('COOKIEs are demanded once the request rate reaches the threshold, although nothing is half-open', () => {
    const pair = capturingPair([]);
    const answers: number[][] = [];
    for (let i = 0; i < 50; i++) {
      inject(pair, 'aws', bogusInit(i), 500);
      answers.push(...answersNotifies(pair));
      pair.clock.advance(2); // 500 requests per second
    }
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
    const firstCookie = answers.findIndex((n) => n[0] === NotifyType.COOKIE);
    expect(firstCookie).toBeGreaterThan(0);
    expect(firstCookie).toBeLessThanOrEqual(10);
    expect(answers.slice(firstCookie).every((n) => n[0] === NotifyType.COOKIE)).toBe(true);
  });

  it('at a low rate nothing changes: no COOKIE demanded', () => {
    const pair = capturingPair([]);
    for (let i = 0; i < 20; i++) {
      inject(pair, 'aws', bogusInit(i), 500);
      expect(answersNotifies(pair)).toEqual([[NotifyType.NO_PROPOSAL_CHOSEN]]);
      pair.clock.advance(500);
    }
  });

  it('refusals are logged once, then summarised per period with their counts', () => {
    const lines: string[] = [];
    const pair = capturingPair(lines);
    lines.length = 0;
    for (let i = 0; i < 300; i++) {
      inject(pair, 'aws', bogusInit(i), 500);
      answersNotifies(pair);
      pair.clock.advance(10); // 100/s for 3 s
    }
    pair.clock.advance(10_000);
    const refusalLines = lines.filter((l) => l.includes('IKE_SA_INIT'));
    expect(refusalLines.length).toBeLessThanOrEqual(2);
    const summary = refusalLines.map((l) => JSON.parse(l) as { refused?: number; byReason?: Record<string, number> }).find((l) => l.refused !== undefined);
    expect(summary?.refused).toBe(299);
    expect(Object.keys(summary?.byReason ?? {}).sort()).toEqual(['cookie-demanded', 'peer-ke-rejected']);
  });

  it('the real peer still gets through during the flood: it answers the COOKIE and establishes', () => {
    const pair = new Pair('ikev2', { tunnel: GROUP2 });
    pair.aws.connection.start();
    for (let i = 0; i < 40; i++) {
      inject(pair, 'aws', bogusInit(i), 500);
      pair.clock.advance(5);
    }
    pair.cgw.connection.start();
    pair.run(5_000);
    expect(pair.cgw.connection.state).toBe('established');
    expectMirrored(pair);
    const requests = sentBy(pair.cgw.transport, { exchange: ExchangeType.IKE_SA_INIT, response: false });
    expect(requests).toHaveLength(2); // the first was answered with a COOKIE
    expect(requests[1]?.notifies[0]).toBe(NotifyType.COOKIE);
  });
});

describe('COOKIE secret (RFC 7296 §2.6)', () => {
  const nonce = Buffer.alloc(32, 7);
  const spi = Buffer.alloc(8, 9);

  it('rotates; a cookie of the replaced secret is still accepted for one lifetime, then refused', () => {
    const clock = new FakeClock();
    const jar = new CookieJar(clock, new SeededRandom(5));
    const first = jar.cookieFor(nonce, '203.0.113.9', spi);
    expect(jar.accepts(first, nonce, '203.0.113.9', spi)).toBe(true);
    clock.advance(COOKIE_SECRET_LIFETIME_MS);
    const second = jar.cookieFor(nonce, '203.0.113.9', spi);
    expect(second.equals(first)).toBe(false);
    expect(second.readUInt32BE(0)).toBe(first.readUInt32BE(0) + 1);
    expect(jar.accepts(first, nonce, '203.0.113.9', spi)).toBe(true);
    clock.advance(COOKIE_SECRET_LIFETIME_MS);
    expect(jar.accepts(first, nonce, '203.0.113.9', spi)).toBe(false);
    expect(jar.accepts(second, nonce, '203.0.113.9', spi)).toBe(true);
  });

  it('refuses a cookie for another address, SPI or nonce, and any other length', () => {
    const jar = new CookieJar(new FakeClock(), new SeededRandom(6));
    const cookie = jar.cookieFor(nonce, '203.0.113.9', spi);
    expect(jar.accepts(cookie, nonce, '203.0.113.10', spi)).toBe(false);
    expect(jar.accepts(cookie, nonce, '203.0.113.9', Buffer.alloc(8, 1))).toBe(false);
    expect(jar.accepts(cookie, Buffer.alloc(32, 8), '203.0.113.9', spi)).toBe(false);
    expect(jar.accepts(cookie.subarray(0, 20), nonce, '203.0.113.9', spi)).toBe(false);
    const flipped = Buffer.from(cookie);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    expect(jar.accepts(flipped, nonce, '203.0.113.9', spi)).toBe(false);
  });
});
