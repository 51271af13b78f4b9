import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest, controlSocketAnswers, ControlCommandError } from '../../../src/control/client.js';
import { MAX_CONNECTIONS, MAX_REQUEST_BYTES } from '../../../src/control/protocol.js';
import { ControlServer, type ControlServerOptions } from '../../../src/control/server.js';
import { CgwdError } from '../../../src/errors.js';
import type { DaemonStatus } from '../../../src/daemon/status.js';
import { daemonStatus, tunnel } from '../metrics/fixtures.js';
import { cli } from '../cli/run-cli.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const servers: ControlServer[] = [];

function socketPath(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cgwd-control-'));
  dirs.push(dir);
  return path.join(dir, 'sub', 'cgwd.sock');
}

async function serve(handlers: ControlServerOptions['handlers']): Promise<{ server: ControlServer; socket: string }> {
  const socket = socketPath();
  const server = await ControlServer.listen({ socketPath: socket, handlers, logger });
  servers.push(server);
  return { server, socket };
}

/** Sends raw bytes and collects the whole reply. */
function raw(socket: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const c = net.connect(socket, () => c.write(data));
    c.on('data', (chunk) => (text += chunk.toString()));
    c.on('end', () => resolve(text));
    c.on('error', reject);
  });
}

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('control socket', () => {
  it('answers a command with its handler result, with mode 0660', async () => {
    const { socket } = await serve({ status: () => ({ tunnels: 2 }) });
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    await expect(controlRequest(socket, 'status')).resolves.toEqual({ tunnels: 2 });
    await expect(controlSocketAnswers(socket)).resolves.toBe(true);
  });

  it("passes a handler's typed error through with its code, and hides other errors", async () => {
    const { socket } = await serve({
      reload: () => {
        throw Object.assign(new CgwdError('RELOAD_INVALID', 'the new file has 2 problems'), { details: ['a', 'b'] });
      },
      status: () => {
        throw new Error('secret internals');
      },
    });
    const reload = await controlRequest(socket, 'reload').catch((e: unknown) => e);
    expect(reload).toBeInstanceOf(ControlCommandError);
    expect(reload).toMatchObject({ code: 'RELOAD_INVALID', message: 'the new file has 2 problems', details: ['a', 'b'] });
    const status = await controlRequest(socket, 'status').catch((e: unknown) => e);
    expect(status).toMatchObject({ code: 'CONTROL_INTERNAL' });
    expect(String((status as Error).message)).not.toContain('secret internals');
  });

  it('refuses unknown commands, non-JSON and oversized requests', async () => {
    const { socket } = await serve({ status: () => 1 });
    expect(JSON.parse(await raw(socket, '{"command":"shutdown"}\n')).error.code).toBe('CONTROL_UNKNOWN_COMMAND');
    expect(JSON.parse(await raw(socket, 'hello\n')).error.code).toBe('CONTROL_BAD_REQUEST');
    expect(JSON.parse(await raw(socket, Buffer.alloc(MAX_REQUEST_BYTES + 10, 0x41))).error.code).toBe('CONTROL_REQUEST_TOO_LARGE');
    await expect(controlRequest(socket, 'reload')).rejects.toMatchObject({ code: 'CONTROL_UNKNOWN_COMMAND' });
  });

  it(`serves at most ${MAX_CONNECTIONS} connections at once`, async () => {
    const { server, socket } = await serve({ status: () => 1 });
    const idle: net.Socket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      idle.push(await new Promise<net.Socket>((resolve) => {
        const c = net.connect(socket, () => resolve(c));
        c.on('error', () => undefined);
      }));
    }
    await expect(controlRequest(socket, 'status', 1_000)).rejects.toBeInstanceOf(CgwdError);
    for (const c of idle) c.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await expect(controlRequest(socket, 'status')).resolves.toBe(1);
    expect(server.refused).toBeGreaterThan(0);
  });

  it('refuses to replace a path that is not a socket', async () => {
    const socket = socketPath();
    mkdirSync(path.dirname(socket), { recursive: true });
    writeFileSync(socket, 'not a socket');
    await expect(ControlServer.listen({ socketPath: socket, handlers: {}, logger })).rejects.toMatchObject({ code: 'CONTROL_SOCKET_PATH' });
  });

  it('a client stops reading a reply beyond its cap', async () => {
    const socket = socketPath();
    mkdirSync(path.dirname(socket), { recursive: true });
    const big = net.createServer((c) => {
      c.on('error', () => undefined);
      const chunk = Buffer.alloc(1 << 20, 0x41);
      const pump = (): void => {
        while (!c.destroyed && c.write(chunk));
        if (!c.destroyed) c.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => big.listen(socket, () => r()));
    try {
      await expect(controlRequest(socket, 'status')).rejects.toMatchObject({ code: 'STATUS_MALFORMED' });
    } finally {
      await new Promise<void>((r) => big.close(() => r()));
    }
  });
});

describe('cgwd status --check (keepalived health check)', () => {
  const withStates = (s1: 0 | 1, s2: 0 | 1): DaemonStatus =>
    daemonStatus({ tunnels: [tunnel(1, { cloudWatch: { tunnelState: s1 } }), tunnel(2, { cloudWatch: { tunnelState: s2 } })] });

  it('exit 0 while any tunnel carries traffic, 1 when none does; "all" asks for both', async () => {
    let current = withStates(1, 0);
    const { socket } = await serve({ status: () => current });
    expect(await cli('status', '--check', '--control-socket', socket)).toMatchObject({ code: 0, stdout: 'OK vpn-0123: tunnel 1 up (of 2)\n' });
    expect(await cli('status', '--check', 'all', '--control-socket', socket)).toMatchObject({ code: 1, stdout: expect.stringMatching(/^FAIL vpn-0123/) });
    current = withStates(0, 0);
    expect(await cli('status', '--check', '--control-socket', socket)).toMatchObject({ code: 1, stdout: 'FAIL vpn-0123: no tunnel up (of 2)\n' });
    current = withStates(1, 1);
    expect((await cli('status', '--check', 'all', '--control-socket', socket)).code).toBe(0);
    expect((await cli('status', '--check', 'some', '--control-socket', socket)).code).not.toBe(0);
  });

  it('exit 3 when the daemon does not answer', async () => {
    const r = await cli('status', '--check', '--control-socket', socketPath());
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
  });
});
