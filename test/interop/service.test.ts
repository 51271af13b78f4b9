/**
 * cgwd as a systemd service, in the lab (BGP, strongSwan + BIRD as AWS), without systemd:
 * a real Unix datagram listener plays the manager's NOTIFY_SOCKET, and setpriv plays the
 * unit's User= and AmbientCapabilities=. Needs root (namespaces, mknod, setpriv).
 *
 *   (a) READY=1 → STATUS=… → WATCHDOG=1 … → RELOADING=1 … READY=1 (SIGHUP) → STOPPING=1, in that order
 *   (b) the packet thread parked (test hook CGWD_TESTING_STALL_MS + SIGUSR2): WATCHDOG=1 stops, then resumes
 *   (c) `cgwd up` as an unprivileged user holding exactly the unit's capabilities: both tunnels and BGP up
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, run, waitFor } from '../../src/system/exec.js';
import { UnixDatagramListener } from '../helpers/unix-dgram-listener.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';

const work = mkdtempSync(path.join(tmpdir(), 'cgwd-service-'));
chmodSync(work, 0o755);
let state: LabState;
const running: CgwdProcess[] = [];
const listeners: UnixDatagramListener[] = [];

/** The capabilities the systemd units grant (systemd/cgwd.service), in setpriv's spelling. */
const UNIT_CAPS = '-all,+net_admin,+net_bind_service';
/** The same set as a CapEff mask: CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12); no CAP_NET_RAW (probes in the data plane). */
const UNIT_CAP_MASK = (1n << 10n) | (1n << 12n);

function up(controlSocket: string, options: { env?: NodeJS.ProcessEnv; prefix?: string[]; args?: string[] } = {}): CgwdProcess {
  const p = new CgwdProcess(
    NS.cgw,
    ['up', '--config', LAB_CONFIG_BGP, '--keepalive-interval', '1', '--control-socket', controlSocket, '--advertise', '192.0.2.0/24', ...(options.args ?? [])],
    state.stateDir,
    options,
  );
  running.push(p);
  return p;
}

async function status(controlSocket: string): Promise<DaemonStatus> {
  return JSON.parse(await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket])) as DaemonStatus;
}

async function listen(name: string): Promise<UnixDatagramListener> {
  const l = await UnixDatagramListener.open(path.join(work, name));
  listeners.push(l);
  return l;
}

const isWatchdog = (m: string): boolean => m === 'WATCHDOG=1';
const bothUp = (m: string): boolean => /^STATUS=.*tunnel 1 up \(.*BGP Established\); tunnel 2 up \(.*BGP Established\)$/.test(m);

beforeAll(async () => {
  state = await labUp({ config: loadConfig(LAB_CONFIG_BGP), configPath: LAB_CONFIG_BGP, options: { nat: false } });
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
  for (const l of listeners.splice(0)) await l.close();
});

afterAll(async () => {
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('cgwd up under a service manager', () => {
  it('(a) READY=1 before AWS answers, STATUS= kept current, WATCHDOG=1 at half WATCHDOG_USEC, STOPPING=1 last', async () => {
    const notify = await listen('notify-a.sock');
    const startedAt = Date.now();
    const p = up(path.join(work, 'a.sock'), { env: { ...process.env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '2000000' } });
    const ready = await notify.waitFor((m) => m.startsWith('READY=1'), 30_000);
    const readyMs = (notify.arrivals[ready] ?? 0) - startedAt;
    // Sent once the data plane, sockets and control socket are up: the tunnels are not up yet.
    expect(notify.messages[ready]).toMatch(/^READY=1\nSTATUS=vpn-[0-9a-z]+: tunnel 1 down \(.*\); tunnel 2 down \(/);
    const allUp = await notify.waitFor(bothUp, 90_000, ready);
    const upMs = (notify.arrivals[allUp] ?? 0) - startedAt;
    await notify.waitFor(isWatchdog, 5_000, allUp + 1);
    const st = await status(path.join(work, 'a.sock'));
    expect(st.tunnels.map((t) => t.bgp?.state)).toEqual(['Established', 'Established']);
    // SIGHUP with unchanged files: RELOADING=1 (with MONOTONIC_USEC) … READY=1 around the reload.
    process.kill(p.pid, 'SIGHUP');
    const reloading = await notify.waitFor((m) => m.startsWith('RELOADING=1\nMONOTONIC_USEC='), 10_000, allUp);
    const readyAgain = await notify.waitFor((m) => m === 'READY=1', 10_000, reloading);
    expect(readyAgain).toBeGreaterThan(reloading);
    expect((await status(path.join(work, 'a.sock'))).reload.last).toMatchObject({ outcome: 'unchanged' });

    expect(await p.stop()).toBe(0);
    const stopping = await notify.waitFor((m) => m === 'STOPPING=1', 5_000);
    const messages = notify.messages;
    const watchdogs = messages.map((m, i) => (isWatchdog(m) ? i : -1)).filter((i) => i >= 0);
    expect(ready).toBe(0);
    expect(watchdogs[0]).toBeGreaterThan(ready);
    expect(stopping).toBe(messages.length - 1);
    expect(messages.filter((m) => m.startsWith('STATUS=')).length).toBeGreaterThanOrEqual(1);
    expect(messages.every((m) => /^(READY=1(\nSTATUS=.*)?|STATUS=.*|WATCHDOG=1|RELOADING=1\nMONOTONIC_USEC=\d+|STOPPING=1)$/s.test(m))).toBe(true);
    const times = watchdogs.map((i) => notify.arrivals[i] ?? 0);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    const maxGap = Math.max(...gaps);
    console.log(
      `sd_notify: READY ${readyMs} ms after start, both tunnels + BGP up in STATUS after ${upMs} ms; ` +
        `${watchdogs.length} WATCHDOG=1 (WATCHDOG_USEC 2 s), largest gap ${maxGap} ms; ${messages.length} messages in all`,
    );
    expect(maxGap).toBeLessThan(2_000);
  });

  // With --dataplane-threads 2 the watchdog has one heartbeat per packet thread, and the hook parks both.
  it.each([1, 2])('(b) WATCHDOG=1 stops while the packet thread is parked, and resumes when it runs again (%i packet thread(s))', async (threads) => {
    const notify = await listen(`notify-b${threads}.sock`);
    const stallMs = 5_000;
    const p = up(path.join(work, 'b.sock'), {
      env: { ...process.env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '2000000', CGWD_TESTING_STALL_MS: String(stallMs) },
      args: ['--dataplane-threads', String(threads)],
    });
    const ready = await notify.waitFor((m) => m.startsWith('READY=1'), 30_000);
    let seen = await notify.waitFor(isWatchdog, 5_000, ready + 1);
    seen = await notify.waitFor(isWatchdog, 5_000, seen + 1);
    const stalledAt = Date.now();
    process.kill(p.pid, 'SIGUSR2');
    const resumed = await notify.waitFor(isWatchdog, stallMs + 10_000, notify.messages.length);
    const pingTimes = notify.messages.map((m, i) => (isWatchdog(m) ? (notify.arrivals[i] ?? 0) : -1)).filter((t) => t >= 0);
    const duringStall = pingTimes.filter((t) => t > stalledAt + 1_200 && t < stalledAt + stallMs - 200);
    const before = Math.max(...pingTimes.filter((t) => t <= stalledAt + 1_200));
    const after = notify.arrivals[resumed] ?? 0;
    console.log(`watchdog (${threads} packet thread(s)): parked ${stallMs} ms; no WATCHDOG=1 for ${after - before} ms (interval 1000 ms), then resumed`);
    expect(duringStall).toEqual([]);
    expect(after).toBeGreaterThanOrEqual(stalledAt + stallMs - 200);
    expect(after - before).toBeGreaterThanOrEqual(stallMs - 1_500);
    // And it keeps going afterwards.
    await notify.waitFor(isWatchdog, 3_000, resumed + 1);
    // Whether the event loop noticed the stall itself (log line) or was held too (counters() waits for the
    // packet thread), no ping went out; afterwards the daemon serves again: both tunnels and BGP back up.
    await waitFor(
      'both BGP sessions Established after the stall',
      async () => ((await status(path.join(work, 'b.sock'))).tunnels.every((t) => t.bgp?.state === 'Established' && t.keepalive.healthy) ? true : undefined),
      60_000,
      500,
    );
    expect(await p.stop()).toBe(0);
  });

  it("(c) as an unprivileged user with exactly the unit's capabilities: both tunnels and BGP up, traffic both ways", async () => {
    // The machine's /dev/net/tun may be 0600 (no udev); Debian's udev makes it 0666. Inside the
    // process's own mount namespace (ip netns exec) a 0666 node for the same device is bound over it.
    const tun = path.join(work, 'tun');
    await run('mknod', ['-m', '0666', tun, 'c', '10', '200']);
    const runDir = path.join(work, 'run');
    mkdirSync(runDir, { mode: 0o750 });
    chownSync(runDir, 65534, 65534);
    const controlSocket = path.join(runDir, 'cgwd.sock');
    const p = up(controlSocket, {
      prefix: [
        'sh', '-c', 'mount --bind "$0" /dev/net/tun && exec "$@"', tun,
        'setpriv', '--reuid=nobody', '--regid=nogroup', '--init-groups', '--no-new-privs',
        `--inh-caps=${UNIT_CAPS}`, `--ambient-caps=${UNIT_CAPS}`, `--bounding-set=${UNIT_CAPS}`,
      ],
    });
    const s = await waitFor(
      'both tunnels and BGP sessions up',
      async () => {
        if (p.exitCode !== null) throw new Error(`cgwd exited (${p.exitCode}): ${p.stderr.slice(-1500)}`);
        const st = await status(controlSocket).catch(() => undefined);
        return st?.tunnels.every((t) => t.bgp?.state === 'Established' && t.keepalive.healthy && t.cloudWatch.tunnelState === 1) ? st : undefined;
      },
      90_000,
      500,
    );
    expect(s.tunnels).toHaveLength(2);
    const proc = readFileSync(`/proc/${p.pid}/status`, 'utf8');
    expect(proc).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(proc)?.[1] ?? '0'}`);
    const capBnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(proc)?.[1] ?? '0'}`);
    expect([capEff, capBnd]).toEqual([UNIT_CAP_MASK, UNIT_CAP_MASK]);
    expect(proc).toMatch(/^NoNewPrivs:\s+1$/m);
    const there = await ping(NS.onprem, '198.19.0.10', 10, 0.05);
    const back = await ping(NS.vpc, '192.0.2.10', 10, 0.05);
    expect([there.received, back.received]).toEqual([10, 10]);
    console.log(`unprivileged: uid 65534, CapEff 0x${capEff.toString(16)} (net_bind_service, net_admin); both tunnels + BGP up; 10/10 pings each way`);
    expect(await p.stop()).toBe(0);
    expect((await run('ip', ['-n', NS.cgw, 'route', 'show', 'proto', '199'])).trim()).toBe('');
  });

  it('(c) without CAP_NET_ADMIN cgwd up names what is missing and exits 3', async () => {
    const p = up(path.join(work, 'd.sock'), {
      prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--init-groups', '--inh-caps=-all,+net_bind_service', '--ambient-caps=-all,+net_bind_service'],
    });
    await waitFor('exit', async () => (p.exitCode !== null ? true : undefined), 20_000, 100);
    expect(p.exitCode).toBe(3);
    expect(p.stderr).toMatch(/lacks CAP_NET_ADMIN: needed to create the TUN interfaces.*\(MISSING_CAPABILITY\)/);
  });
});
