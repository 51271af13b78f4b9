/**
 * The RFC 4271 FSM against a scripted peer on a fake clock. The peer is just
 * the events a real one would cause; the assertions read what the FSM asked
 * its owner to do (send, close, connect, established, down) and its state.
 *
 *   us (169.254.10.2, AS 65000)                peer (AS 64512)
 *     ── connect ──────────────────────────────►
 *     ── OPEN ─────────────────────────────────►            OpenSent
 *     ◄───────────────────────────────── OPEN ──
 *     ── KEEPALIVE ────────────────────────────►            OpenConfirm
 *     ◄──────────────────────────── KEEPALIVE ──            Established
 */
import { describe, expect, it } from 'vitest';
import { BgpMessageError } from '../../../src/bgp/errors.js';
import {
  BgpFsm,
  collisionWinner,
  newFsmSession,
  openSent,
  type ConnectionId,
  type FsmEvent,
  type FsmOutput,
  type StateChange,
} from '../../../src/bgp/fsm.js';
import type { BgpMessage, OpenMessage } from '../../../src/bgp/messages.js';
import { buildOpen } from '../../../src/bgp/open.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const LOCAL_ID = 0xa9fe0a02; // 169.254.10.2
const HIGHER_ID = 0xa9fe0a09;
const LOWER_ID = 0xa9fe0a01;

function peerOpen(options: { hold?: number; id?: number; as?: number } = {}): OpenMessage {
  return buildOpen({ localAs: options.as ?? 64512, bgpIdentifier: options.id ?? LOWER_ID, holdTimeSeconds: options.hold ?? 90 });
}

function harness(options: { passive?: boolean; hold?: number } = {}) {
  const clock = new FakeClock();
  const outputs: FsmOutput[] = [];
  const changes: StateChange[] = [];
  const fsm = new BgpFsm(
    {
      localAs: 65000,
      peerAs: 64512,
      bgpIdentifier: LOCAL_ID,
      open: buildOpen({ localAs: 65000, bgpIdentifier: LOCAL_ID, holdTimeSeconds: options.hold ?? 30 }),
      connectRetrySeconds: 5,
      passive: options.passive ?? false,
      random: () => 1,
    },
    clock,
    (action) => outputs.push(action),
    (change) => changes.push(change),
  );
  const take = (): FsmOutput[] => outputs.splice(0);
  const sent = (list: FsmOutput[], connection?: ConnectionId): BgpMessage[] =>
    list.filter((a): a is Extract<FsmOutput, { type: 'send' }> => a.type === 'send' && (connection === undefined || a.connection === connection)).map((a) => a.message);
  const closed = (list: FsmOutput[]): ConnectionId[] => list.filter((a): a is Extract<FsmOutput, { type: 'close' }> => a.type === 'close').map((a) => a.connection);
  const ev = (event: FsmEvent): FsmOutput[] => {
    fsm.handle(event);
    return take();
  };
  /** Drives the happy path to Established on connection 1 (outgoing). */
  const establish = (open: OpenMessage = peerOpen()): void => {
    ev({ type: 'ManualStart' });
    ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    ev({ type: 'BgpOpen', connection: 1, open });
    ev({ type: 'KeepAliveMsg', connection: 1 });
    expect(fsm.state).toBe('Established');
  };
  return { clock, fsm, take, sent, closed, ev, establish, changes };
}

const keepalives = (messages: BgpMessage[]): number => messages.filter((m) => m.type === 'keepalive').length;

describe('BGP FSM (RFC 4271 §8)', () => {
  it('establishes: Idle → Connect → OpenSent → OpenConfirm → Established', () => {
    const h = harness();
    expect(h.fsm.state).toBe('Idle');
    expect(h.ev({ type: 'ManualStart' })).toEqual([{ type: 'connect' }]);
    expect(h.fsm.state).toBe('Connect');

    const onConnect = h.ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    expect(h.sent(onConnect, 1)).toEqual([h.fsm.session.config.open]);
    expect(h.fsm.state).toBe('OpenSent');
    expect(h.fsm.isTimerRunning('connectRetry')).toBe(false);
    expect(h.fsm.isTimerRunning('hold')).toBe(true);

    const onOpen = h.ev({ type: 'BgpOpen', connection: 1, open: peerOpen({ hold: 90 }) });
    expect(h.sent(onOpen, 1)).toEqual([{ type: 'keepalive' }]);
    expect(h.fsm.state).toBe('OpenConfirm');
    expect(h.fsm.negotiated?.holdTimeSeconds).toBe(30);

    const onKeepalive = h.ev({ type: 'KeepAliveMsg', connection: 1 });
    expect(onKeepalive).toContainEqual(expect.objectContaining({ type: 'established', connection: 1 }));
    expect(h.fsm.state).toBe('Established');
    expect(h.changes.map((c) => c.to)).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
  });

  it('sends KEEPALIVE every hold/3 (10 s of a 30 s hold time), and stays up while the peer does too', () => {
    const h = harness();
    h.establish();
    for (let second = 1; second <= 120; second++) {
      h.clock.advance(1000);
      if (second % 10 === 5) h.fsm.handle({ type: 'KeepAliveMsg', connection: 1 });
    }
    expect(keepalives(h.sent(h.take(), 1))).toBe(12);
    expect(h.fsm.state).toBe('Established');
  });

  it('an UPDATE sent restarts the keepalive timer', () => {
    const h = harness();
    h.establish();
    h.clock.advance(9_000);
    expect(h.fsm.sendUpdate({ type: 'update', withdrawn: [], attributes: {}, nlri: [] })).toBe(true);
    h.clock.advance(9_000);
    expect(keepalives(h.sent(h.take(), 1))).toBe(0);
    h.clock.advance(1_000);
    expect(keepalives(h.sent(h.take(), 1))).toBe(1);
  });

  it('hold timer expiry → NOTIFICATION 4/0, Idle; after ConnectRetry it connects again', () => {
    const h = harness();
    h.establish();
    h.take();
    h.clock.advance(29_999);
    expect(h.fsm.state).toBe('Established');
    h.clock.advance(1);
    const out = h.take();
    expect(h.sent(out, 1)).toContainEqual({ type: 'notification', errorCode: 4, errorSubcode: 0, data: Buffer.alloc(0) });
    expect(h.closed(out)).toEqual([1]);
    expect(out).toContainEqual({ type: 'down', reason: { kind: 'hold-timer-expired' } });
    expect(h.fsm.state).toBe('Idle');
    expect(h.changes.at(-1)).toMatchObject({ from: 'Established', to: 'Idle', reason: { kind: 'hold-timer-expired' } });

    h.clock.advance(4_999);
    expect(h.fsm.state).toBe('Idle');
    h.clock.advance(1);
    expect(h.take()).toEqual([{ type: 'connect' }]);
    expect(h.fsm.state).toBe('Connect');
  });

  it('hold time 0 → no KEEPALIVEs and no hold timer', () => {
    const h = harness();
    h.establish(peerOpen({ hold: 0 }));
    h.take();
    h.clock.advance(3_600_000);
    expect(h.take()).toEqual([]);
    expect(h.fsm.state).toBe('Established');
    expect(h.fsm.isTimerRunning('hold')).toBe(false);
    expect(h.fsm.isTimerRunning('keepalive')).toBe(false);
  });

  it('the hold timer while waiting for the OPEN is the large 4 minutes (§8.2.2)', () => {
    const h = harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    h.clock.advance(239_999);
    expect(h.fsm.state).toBe('OpenSent');
    h.clock.advance(1);
    expect(h.fsm.state).toBe('Idle');
  });

  it('NOTIFICATION received → Idle with its code, nothing sent back', () => {
    const h = harness();
    h.establish();
    h.take();
    const out = h.ev({ type: 'NotifMsg', connection: 1, notification: { type: 'notification', errorCode: 6, errorSubcode: 2, data: Buffer.alloc(0) } });
    expect(h.sent(out)).toEqual([]);
    expect(out).toContainEqual({ type: 'down', reason: { kind: 'notification-received', errorCode: 6, errorSubcode: 2, data: Buffer.alloc(0) } });
    expect(h.fsm.state).toBe('Idle');
  });

  it('a decode error is sent as its NOTIFICATION', () => {
    const h = harness();
    h.establish();
    h.take();
    const out = h.ev({ type: 'MessageError', connection: 1, error: new BgpMessageError(3, 11, 'bad AS_PATH') });
    expect(h.sent(out, 1)).toEqual([{ type: 'notification', errorCode: 3, errorSubcode: 11, data: Buffer.alloc(0) }]);
    expect(h.fsm.state).toBe('Idle');
  });

  it('a peer with the wrong AS → NOTIFICATION 2/2, Idle', () => {
    const h = harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    const out = h.ev({ type: 'BgpOpen', connection: 1, open: peerOpen({ as: 64999 }) });
    expect(h.sent(out, 1)).toEqual([{ type: 'notification', errorCode: 2, errorSubcode: 2, data: Buffer.alloc(0) }]);
    expect(h.fsm.state).toBe('Idle');
  });

  it('unexpected messages → FSM Error with the RFC 6608 subcode of the state', () => {
    const inOpenSent = harness();
    inOpenSent.ev({ type: 'ManualStart' });
    inOpenSent.ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    const a = inOpenSent.ev({ type: 'KeepAliveMsg', connection: 1 });
    expect(inOpenSent.sent(a, 1)).toEqual([{ type: 'notification', errorCode: 5, errorSubcode: 1, data: Buffer.alloc(0) }]);

    const inOpenConfirm = harness();
    inOpenConfirm.ev({ type: 'ManualStart' });
    inOpenConfirm.ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    inOpenConfirm.ev({ type: 'BgpOpen', connection: 1, open: peerOpen() });
    const b = inOpenConfirm.ev({ type: 'UpdateMsg', connection: 1, update: { type: 'update', withdrawn: [], attributes: {}, nlri: [] } });
    expect(inOpenConfirm.sent(b, 1)).toEqual([{ type: 'notification', errorCode: 5, errorSubcode: 2, data: Buffer.alloc(0) }]);

    const inEstablished = harness();
    inEstablished.establish();
    inEstablished.take();
    const c = inEstablished.ev({ type: 'BgpOpen', connection: 1, open: peerOpen() });
    expect(inEstablished.sent(c, 1)).toEqual([{ type: 'notification', errorCode: 5, errorSubcode: 3, data: Buffer.alloc(0) }]);
  });

  it('stop → Cease / Administrative Shutdown, and no automatic restart', () => {
    const h = harness();
    h.establish();
    h.take();
    const out = h.ev({ type: 'ManualStop' });
    expect(h.sent(out, 1)).toEqual([{ type: 'notification', errorCode: 6, errorSubcode: 2, data: Buffer.alloc(0) }]);
    expect(out).toContainEqual({ type: 'down', reason: { kind: 'admin' } });
    h.clock.advance(60_000);
    expect(h.take()).toEqual([]);
    expect(h.fsm.state).toBe('Idle');
  });

  it('a failed connect goes to Active and retries after ConnectRetry', () => {
    const h = harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionFails', connection: 1 });
    expect(h.fsm.state).toBe('Active');
    h.clock.advance(5_000);
    expect(h.take()).toEqual([{ type: 'connect' }]);
    expect(h.fsm.state).toBe('Connect');
  });

  it('passive: waits in Active and takes the peer\'s connection', () => {
    const h = harness({ passive: true });
    expect(h.ev({ type: 'ManualStart' })).toEqual([]);
    expect(h.fsm.state).toBe('Active');
    h.clock.advance(60_000);
    expect(h.take()).toEqual([]);
    h.ev({ type: 'TcpConnectionConfirmed', connection: 7, direction: 'incoming' });
    expect(h.fsm.state).toBe('OpenSent');
  });

  it('Idle refuses connections', () => {
    const h = harness();
    expect(h.ev({ type: 'TcpConnectionConfirmed', connection: 3, direction: 'incoming' })).toEqual([{ type: 'close', connection: 3 }]);
  });

  it('the state functions are pure transitions: openSent(session, OPEN) → OpenConfirm with a KEEPALIVE', () => {
    const session = newFsmSession({ localAs: 65000, peerAs: 64512, bgpIdentifier: LOCAL_ID, open: buildOpen({ localAs: 65000, bgpIdentifier: LOCAL_ID, holdTimeSeconds: 30 }) });
    session.primary = { id: 1, direction: 'outgoing' };
    const transition = openSent(session, { type: 'BgpOpen', connection: 1, open: peerOpen() });
    expect(transition.next).toBe('OpenConfirm');
    expect(transition.actions).toContainEqual({ type: 'send', connection: 1, message: { type: 'keepalive' } });
    expect(transition.actions).toContainEqual({ type: 'startTimer', timer: 'keepalive', ms: 10_000 });
  });
});

/*
 * Collisions (§6.8). Both ends connect at once; each has its own outgoing
 * connection (1) and the peer's incoming one (2), and sends OPEN on both.
 *
 *   us                                   peer
 *     ── conn 1 (ours) ─────────────────►
 *     ◄───────────────── conn 2 (peer's) ──
 *     ── OPEN on 1, OPEN on 2 ──────────►
 *     ◄────────── OPEN on 1, OPEN on 2 ──
 *   the side with the higher BGP Identifier keeps the connection IT opened;
 *   the other connection is closed with Cease / Connection Collision Resolution (6/7).
 */
describe('connection collisions (§6.8)', () => {
  const collision = cease(7);

  function bothConnectionsUp(h: ReturnType<typeof harness>): void {
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionConfirmed', connection: 1, direction: 'outgoing' });
    const second = h.ev({ type: 'TcpConnectionConfirmed', connection: 2, direction: 'incoming' });
    expect(h.sent(second, 2)).toEqual([h.fsm.session.config.open]);
  }

  it('our BGP Identifier is higher: we keep the connection we opened, the peer\'s gets Cease 6/7', () => {
    const h = harness();
    bothConnectionsUp(h);
    h.ev({ type: 'BgpOpen', connection: 1, open: peerOpen({ id: LOWER_ID }) });
    const out = h.ev({ type: 'BgpOpen', connection: 2, open: peerOpen({ id: LOWER_ID }) });
    expect(h.sent(out, 2)).toEqual([collision]);
    expect(h.closed(out)).toEqual([2]);
    expect(h.fsm.primaryConnection).toBe(1);
    expect(h.fsm.state).toBe('OpenConfirm');
    h.ev({ type: 'KeepAliveMsg', connection: 1 });
    expect(h.fsm.state).toBe('Established');
  });

  it('the peer\'s BGP Identifier is higher: we keep the peer\'s connection and close ours with Cease 6/7', () => {
    const h = harness();
    bothConnectionsUp(h);
    h.ev({ type: 'BgpOpen', connection: 1, open: peerOpen({ id: HIGHER_ID }) });
    const out = h.ev({ type: 'BgpOpen', connection: 2, open: peerOpen({ id: HIGHER_ID }) });
    expect(h.sent(out, 1)).toEqual([collision]);
    expect(h.closed(out)).toEqual([1]);
    expect(h.sent(out, 2)).toEqual([{ type: 'keepalive' }]);
    expect(h.fsm.primaryConnection).toBe(2);
    expect(h.fsm.state).toBe('OpenConfirm');
    // Late traffic on the closed connection is ignored.
    h.ev({ type: 'TcpConnectionFails', connection: 1 });
    h.ev({ type: 'KeepAliveMsg', connection: 2 });
    expect(h.fsm.state).toBe('Established');
  });

  it('an OPEN on the second connection before the first has one is resolved at once', () => {
    const h = harness();
    bothConnectionsUp(h);
    const out = h.ev({ type: 'BgpOpen', connection: 2, open: peerOpen({ id: HIGHER_ID }) });
    expect(h.closed(out)).toEqual([1]);
    expect(h.fsm.primaryConnection).toBe(2);
    expect(h.fsm.state).toBe('OpenConfirm');
  });

  it('equal identifiers: the side with the higher AS keeps its connection (RFC 6286 §2.3)', () => {
    expect(collisionWinner({ bgpIdentifier: 5, as: 65000 }, { bgpIdentifier: 5, as: 64512 })).toBe('outgoing');
    expect(collisionWinner({ bgpIdentifier: 5, as: 64512 }, { bgpIdentifier: 5, as: 65000 })).toBe('incoming');
  });

  it('a new connection while Established is refused with Cease 6/7', () => {
    const h = harness();
    h.establish();
    h.take();
    const out = h.ev({ type: 'TcpConnectionConfirmed', connection: 9, direction: 'incoming' });
    expect(h.sent(out, 9)).toEqual([collision]);
    expect(h.closed(out)).toEqual([9]);
    expect(h.fsm.state).toBe('Established');
  });

  it('the primary fails during OpenSent: the candidate carries on', () => {
    const h = harness();
    bothConnectionsUp(h);
    h.ev({ type: 'TcpConnectionFails', connection: 1 });
    expect(h.fsm.state).toBe('OpenSent');
    expect(h.fsm.primaryConnection).toBe(2);
    h.ev({ type: 'BgpOpen', connection: 2, open: peerOpen() });
    h.ev({ type: 'KeepAliveMsg', connection: 2 });
    expect(h.fsm.state).toBe('Established');
  });
});

function cease(subcode: number): BgpMessage {
  return { type: 'notification', errorCode: 6, errorSubcode: subcode, data: Buffer.alloc(0) };
}
