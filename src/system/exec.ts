/**
 * Running system tools (ip, nft, ping; in the lab also charon, swanctl, bird,
 * birdc) with a time limit and typed failures. Nothing here uses a
 * shell except where a tool must be started through one (charon's /run mount).
 */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { CgwdError } from '../errors.js';

export class CommandError extends CgwdError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, stderr: string) {
    super('COMMAND_FAILED', `${command} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().slice(0, 500)}`);
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command; resolves with its output whatever its exit code. */
export function runCommand(file: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        // Spawn failure (ENOENT) or killed by the timeout.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new CgwdError('TOOL_MISSING', `${file} is not installed`));
          return;
        }
        reject(new CommandError([file, ...args].join(' '), null, `${stderr}${error.killed ? ' (timed out)' : ''}`));
        return;
      }
      resolve({ stdout, stderr, code: error ? Number(error.code) : 0 });
    });
  });
}

/** Runs a command and throws CommandError unless it exits 0. */
export async function run(file: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await runCommand(file, args, timeoutMs);
  if (result.code !== 0) throw new CommandError([file, ...args].join(' '), result.code, result.stderr || result.stdout);
  return result.stdout;
}

/** `ip -n NS …` */
export function ipIn(ns: string, ...args: string[]): Promise<string> {
  return run('ip', ['-n', ns, ...args]);
}

/** `ip netns exec NS cmd …` */
export function execIn(ns: string, file: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  return run('ip', ['netns', 'exec', ns, file, ...args], timeoutMs);
}

export function execInResult(ns: string, file: string, args: readonly string[], timeoutMs?: number): Promise<RunResult> {
  return runCommand('ip', ['netns', 'exec', ns, file, ...args], timeoutMs);
}

/**
 * Starts a long-running process inside a namespace, detached, with its output
 * appended to a log file. `ip netns exec` execs in place, so the returned PID
 * is the daemon's own.
 */
export function spawnDaemonIn(ns: string, argv: readonly string[], logFile: string, env: NodeJS.ProcessEnv = {}): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    if (child.pid === undefined) throw new CgwdError('SPAWN_FAILED', `could not start ${argv[0] ?? '?'} in ${ns}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops one process we started, by its PID: TERM, then KILL after a grace period. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new CgwdError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}
