/**
 * IkeV2Connection as its owner sees it: the ChildSaInstall hand-off, events, the keylog
 * callback, status(), the dispatcher entry point, robustness against a misbehaving owner, and
 * who keeps which IKE SA when a peer re-initiates.
 */
import { describe, expect, it } from 'vitest';
import type { IkeDatagram } from '../../../../src/ike/runtime.js';
import type { KeylogEntry } from '../../../../src/ike/index.js';
import { deliverIkeDatagram } from '../../../../src/ike/index.js';
import { IkeV2Connection } from '../../../../src/ike/v2/index.js';
import { createLogger } from '../../../../src/log/index.js';
import { tunnelConfig } from '../harness/config.js';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { FakeNetwork } from '../harness/network.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored, expectSameIkeKeys, settle } from '../harness/pair.js';
import { SeededRandom } from '../harness/seeded-random.js';
import { RecordingSink } from '../harness/sink.js';

describe('the CHILD SA hand-off', () => {
  it('carries everything the data plane needs', () => {
    const pair = new Pair('ikev2').establish();
    const { cgw } = expectMirrored(pair);
    expect(cgw).toMatchObject({
      tunnel: 1,
      encryption: 'aes128-gcm16',
      local: { address: CGW_IP, port: 4500 },
      remote: { address: AWS_IP, port: 4500 },
      replayWindow: 1024,
      hardLifetimeSeconds: 3240,
      initiatedByUs: true,
    });
    expect(cgw.integrity).toBeUndefined();
    expect(cgw.pfsGroup).toBeUndefined(); // the first CHILD SA comes from IKE_AUTH: no KE
    expect(cgw.softLifetimeSeconds).toBeGreaterThanOrEqual(3240 - 540);
    expect(cgw.softLifetimeSeconds).toBeLessThanOrEqual(3240 - 270);
    expect(cgw.spiIn).toBeGreaterThan(255);
    expect(cgw.encKeyIn).toHaveLength(20);
  });

  it('the keylog callback gets every derived key, the same on both sides', () => {
    const pair = new Pair('ikev2').establish();
    pair.cgw.connection.rekeyChild();
    pair.run(20_000);
    expectSameIkeKeys(pair);
    const children = (entries: KeylogEntry[]) => entries.filter((e): e is Extract<KeylogEntry, { kind: 'child' }> => e.kind === 'child');
    expect(children(pair.cgw.keylog).map((e) => e.install)).toEqual(pair.cgw.sink.history);
    const last = children(pair.cgw.keylog).at(-1)?.install;
    const mirror = children(pair.aws.keylog).find((e) => e.install.spiIn === last?.spiOut)?.install;
    expect(mirror?.encKeyOut).toEqual(last?.encKeyIn);
  });
});

describe('events and status', () => {
  it('events tell the story of a tunnel', () => {
    const pair = new Pair('ikev2', { timing: { dpdIntervalSeconds: 10 } }).establish();
    pair.cgw.connection.rekeyChild();
    pair.run(12_000);
    pair.cgw.connection.rekeyIke();
    pair.run(1_000);
    pair.net.setDown(AWS_IP, true);
    pair.run(60_000);
    expect(pair.cgw.events.map((e) => e.name)).toEqual(['ike-up', 'child-up', 'child-rekeyed', 'ike-rekeyed', 'child-down', 'ike-down']);
    const [, childUp, rekeyed] = pair.cgw.events;
    expect((rekeyed?.data as { oldId: number }).oldId).toBe((childUp?.data as { id: number }).id);
    expect(pair.cgw.events.at(-1)?.data).toMatchObject({ established: true, code: 'IKE_PEER_UNREACHABLE' });
  });

  it('status() is a loggable snapshot with no key material', () => {
    const pair = new Pair('ikev2').establish();
    const status = pair.cgw.connection.status();
    expect(status).toMatchObject({ tunnel: 1, role: 'initiator', state: 'established', local: `${CGW_IP}:500`, remote: `${AWS_IP}:500` });
    const [sa] = status.ikeSas;
    expect(sa?.spiI).toMatch(/^[0-9a-f]{16}$/);
    expect(sa).toMatchObject({ current: true, state: 'established', suite: 'aes128-cbc/hmac-sha256-128/prf-hmac-sha256/dh19', nextRequestId: 2, expectedRequestId: 0 });
    expect(sa?.rekeyAt).toBeGreaterThan(0);
    expect(sa?.children[0]).toMatchObject({ state: 'installed', installed: true, suite: 'aes128-gcm16' });
    const text = JSON.stringify(status);
    for (const entry of pair.cgw.keylog) {
      if (entry.kind === 'ike') for (const key of Object.values(entry.keys)) if (key.length > 0) expect(text).not.toContain(key.toString('hex'));
    }
    expect(status.counters).toMatchObject({ ikeSasEstablished: 1, reconnects: 0 });
  });
});

describe('owner misbehaviour', () => {
  it('a throwing event listener or data plane does not stop the protocol', () => {
    const pair = new Pair('ikev2');
    pair.cgw.connection.on('child-up', () => {
      throw new Error('listener bug');
    });
    pair.aws.sink.installChildSa = () => {
      throw new Error('data plane bug');
    };
    pair.start().run(2_000);
    expect(pair.cgw.connection.state).toBe('established');
    expect(pair.aws.connection.state).toBe('established');
  });
});

it('deliverIkeDatagram: a dispatcher that routes datagrams itself (listen: false)', () => {
  const clock = new FakeClock();
  const net = new FakeNetwork(clock);
  const logger = createLogger({ level: 'silent' });
  const make = (address: string, peer: string, role: 'initiator' | 'responder', seed: number) => {
    const transport = net.transport(address);
    const sink = new RecordingSink(() => clock.now());
    const connection = new IkeV2Connection({
      tunnel: tunnelConfig('ikev2'),
      role,
      local: { address, port: 500 },
      remote: { address: peer, port: 500 },
      localId: address,
      transport,
      clock,
      random: new SeededRandom(seed),
      sink,
      logger,
      listen: false,
    });
    const seen: IkeDatagram[] = [];
    transport.onDatagram((datagram) => {
      seen.push(datagram);
      deliverIkeDatagram(connection, datagram);
    });
    return { connection, sink, seen };
  };
  const cgw = make(CGW_IP, AWS_IP, 'initiator', 1);
  const aws = make(AWS_IP, CGW_IP, 'responder', 2);
  aws.connection.start();
  cgw.connection.start();
  clock.advance(1_000);
  expect(cgw.sink.installed.size).toBe(1);
  expect(aws.sink.installed.size).toBe(1);
  expect(aws.seen.length).toBeGreaterThanOrEqual(2);
});

describe('who keeps which IKE SA', () => {
  it('AWS initiates again after losing its state: the new IKE SA replaces ours at once (INITIAL_CONTACT)', () => {
    const pair = new Pair('ikev2', { cgw: { role: 'responder', remoteId: AWS_IP }, aws: { role: 'initiator', remoteId: CGW_IP } }).establish();
    const old = pair.cgw.connection.status().ikeSas[0]?.spiI;
    pair.aws.restart();
    pair.run(2_000);
    const sas = pair.cgw.connection.status().ikeSas;
    expect(sas).toHaveLength(1);
    expect(sas[0]?.spiI).not.toBe(old);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_REPLACED' });
    settle(pair);
    expectMirrored(pair);
  });

  it('both sides initiate at once: they settle on one IKE SA and one CHILD SA pair', () => {
    const pair = new Pair('ikev2', { cgw: { remoteId: AWS_IP }, aws: { role: 'initiator', remoteId: CGW_IP } });
    pair.start().run(60_000);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
    expect(pair.cgw.connection.status().ikeSas).toHaveLength(1);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
  });
});
