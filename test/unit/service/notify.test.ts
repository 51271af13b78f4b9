import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatServiceStatus } from '../../../src/service/daemon-service.js';
import { NotifyConfigError, ServiceNotifier, unixDatagramSender, type DatagramSender } from '../../../src/service/notify.js';
import { UnixDatagramListener } from '../../helpers/unix-dgram-listener.js';

function recorder(): { send: DatagramSender; messages: string[]; sockets: string[] } {
  const messages: string[] = [];
  const sockets: string[] = [];
  return {
    messages,
    sockets,
    send: (socket, data) => {
      sockets.push(socket);
      messages.push(Buffer.from(data).toString());
      return 0;
    },
  };
}

describe('ServiceNotifier from the environment', () => {
  it('without NOTIFY_SOCKET does nothing at all, and removes the variables so children do not inherit them', () => {
    const r = recorder();
    const env: NodeJS.ProcessEnv = { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1', PATH: '/bin' };
    const n = ServiceNotifier.fromEnvironment({ env, send: r.send });
    n.ready('x');
    n.status('y');
    n.reloading();
    n.stopping();
    n.startWatchdog([() => 1]);
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeUndefined();
    expect(r.messages).toEqual([]);
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('reads the socket and half of WATCHDOG_USEC; WATCHDOG_PID of another process disables only the watchdog', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify/1', WATCHDOG_USEC: '20000000', WATCHDOG_PID: '4242' };
    const mine = ServiceNotifier.fromEnvironment({ env: { ...env }, pid: 4242, send: () => 0 });
    expect([mine.socket, mine.watchdogIntervalMs]).toEqual(['@/org/freedesktop/systemd1/notify/1', 10_000]);
    const other = ServiceNotifier.fromEnvironment({ env: { ...env }, pid: 7, send: () => 0 });
    expect([other.enabled, other.watchdogIntervalMs]).toEqual([true, undefined]);
  });

  it('refuses malformed values with a stable code', () => {
    const bad = (env: NodeJS.ProcessEnv): unknown => {
      try {
        ServiceNotifier.fromEnvironment({ env, send: () => 0 });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const env of [{ NOTIFY_SOCKET: 'relative/sock' }, { NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '10s' }, { NOTIFY_SOCKET: '/run/n', WATCHDOG_PID: '-1' }, { NOTIFY_SOCKET: `/${'x'.repeat(120)}` }]) {
      const error = bad(env);
      expect(error).toBeInstanceOf(NotifyConfigError);
      expect((error as NotifyConfigError).code).toBe('SERVICE_NOTIFY_CONFIG');
    }
  });
});

describe('ServiceNotifier messages', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('READY with the first STATUS, RELOADING with MONOTONIC_USEC, STOPPING', () => {
    const r = recorder();
    const n = new ServiceNotifier({ socket: '/run/notify', send: r.send, monotonicUsec: () => 123456789n });
    n.ready('vpn-1: tunnel 1 down');
    n.reloading();
    n.ready();
    n.stopping();
    expect(r.messages).toEqual(['READY=1\nSTATUS=vpn-1: tunnel 1 down', 'RELOADING=1\nMONOTONIC_USEC=123456789', 'READY=1', 'STOPPING=1']);
    expect(new Set(r.sockets)).toEqual(new Set(['/run/notify']));
  });

  it('STATUS is one line, sent on change only, at most once a second with the latest change winning', () => {
    const r = recorder();
    const n = new ServiceNotifier({ socket: '/run/notify', send: r.send });
    n.ready('a');
    n.status('a');
    expect(r.messages).toEqual(['READY=1\nSTATUS=a']);
    n.status('b');
    n.status('c\nWATCHDOG=1');
    expect(r.messages).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(r.messages).toEqual(['READY=1\nSTATUS=a', 'STATUS=c WATCHDOG=1']);
    vi.advanceTimersByTime(5000);
    n.status('d');
    expect(r.messages.at(-1)).toBe('STATUS=d');
    expect(r.messages).toHaveLength(3);
  });

  it('WATCHDOG=1 every half WATCHDOG_USEC while every heartbeat moves; withheld while one stands still; resumes', () => {
    const r = recorder();
    const n = new ServiceNotifier({ socket: '/run/notify', watchdogUsec: 4_000_000, send: r.send });
    let a = 0;
    let b = 0;
    let bMoves = true;
    n.startWatchdog([() => ++a, () => (bMoves ? ++b : b), () => undefined]);
    const pings = (): number => r.messages.filter((m) => m === 'WATCHDOG=1').length;
    expect(pings()).toBe(1);
    vi.advanceTimersByTime(2000 * 3);
    expect(pings()).toBe(4);
    bMoves = false;
    vi.advanceTimersByTime(2000 * 3);
    expect(pings()).toBe(4);
    bMoves = true;
    vi.advanceTimersByTime(2000);
    expect(pings()).toBe(5);
    n.close();
    vi.advanceTimersByTime(10_000);
    expect(pings()).toBe(5);
  });

  it('a failing send (manager gone) is not fatal', () => {
    let calls = 0;
    const n = new ServiceNotifier({ socket: '/run/notify', send: () => (++calls, 111) });
    n.ready();
    n.stopping();
    expect(calls).toBe(2);
    expect(n.sent).toEqual([]);
  });
});

describe('the STATUS line', () => {
  it('says per tunnel whether it is up and why not', () => {
    expect(
      formatServiceStatus('vpn-0123', [
        { index: 1, ike: 'established', childSas: 1, healthy: true, bgp: 'Established' },
        { index: 2, ike: 'connecting', childSas: 0, healthy: false, bgp: 'Active' },
      ]),
    ).toBe('vpn-0123: tunnel 1 up (IKE established, keepalive ok, BGP Established); tunnel 2 down (IKE connecting, no CHILD SA, BGP Active)');
    expect(formatServiceStatus('vpn-1', [{ index: 1, ike: 'established', childSas: 2, healthy: false, bgp: undefined }])).toBe(
      'vpn-1: tunnel 1 down (IKE established, keepalive lost)',
    );
  });
});

describe('the native AF_UNIX datagram sender against a real listener', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cgwd-notify-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers to a path and to an abstract @name, byte for byte', async () => {
    const send = unixDatagramSender();
    const abstract = `@cgwd-test-${process.pid}-${Date.now()}`;
    for (const name of [path.join(dir, 'notify.sock'), abstract]) {
      const listener = await UnixDatagramListener.open(name);
      try {
        const n = new ServiceNotifier({ socket: name, send });
        n.ready('tunnel 1 up');
        n.stopping();
        expect(send(name, Buffer.from([0, 1, 2, 255]))).toBe(0);
        await listener.waitFor((m) => m.length === 4, 5000);
        expect(listener.messages.slice(0, 2)).toEqual(['READY=1\nSTATUS=tunnel 1 up', 'STOPPING=1']);
        expect([...(listener.datagrams[2] ?? [])]).toEqual([0, 1, 2, 255]);
      } finally {
        await listener.close();
      }
    }
  });

  it('reports errno instead of throwing when nobody listens', () => {
    const send = unixDatagramSender();
    expect(send(path.join(dir, 'nobody.sock'), Buffer.from('READY=1'))).toBe(2); // ENOENT
    expect(send(`@cgwd-nobody-${process.pid}`, Buffer.from('READY=1'))).toBe(111); // ECONNREFUSED
  });
});
