/**
 * Runs the built cgwd CLI inside a lab namespace (`ip netns exec cgwd-cgw node
 * dist/cli/main.js …`) and reads its JSON-line events, as a user's terminal
 * would see them. Processes are recorded in the lab state so `lab down` stops
 * them even if a test dies, and stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordLabPid } from '../../../src/lab/lab.js';
import { stopPid } from '../../../src/system/exec.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = path.join(repoRoot, 'dist', 'cli', 'main.js');

export type CgwdEvent = Record<string, unknown> & { event: string; tunnel?: number };

export class CgwdProcess {
  readonly events: CgwdEvent[] = [];
  stderr = '';
  exitCode: number | null = null;
  private readonly child: ChildProcess;
  private readonly waiters: (() => void)[] = [];

  /**
   * `options.prefix`: argv run between `ip netns exec NS` and node (e.g. setpriv); `options.env`: the
   * environment (default: this process's).
   */
  constructor(namespace: string, args: readonly string[], stateDir?: string, options: { prefix?: readonly string[]; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn('ip', ['netns', 'exec', namespace, ...(options.prefix ?? []), process.execPath, CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env ? { env: options.env } : {}),
    });
    if (stateDir && this.child.pid) recordLabPid(stateDir, `cgwd-${this.child.pid}`, this.child.pid);
    let buffered = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        try {
          this.events.push(JSON.parse(line) as CgwdEvent);
        } catch {
          continue;
        }
        this.wake();
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child.on('exit', (code) => {
      this.exitCode = code ?? -1;
      this.wake();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first event (after `from`) that matches, or throws after `timeoutMs`. */
  async waitFor(what: string, predicate: (e: CgwdEvent) => boolean, timeoutMs: number, from = 0): Promise<CgwdEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(predicate);
      if (found) return found;
      if (this.exitCode !== null) throw new Error(`cgwd exited (${this.exitCode}) before ${what}; stderr: ${this.stderr.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.slice(-10))}; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** SIGTERM (graceful: deletes SAs at the peer), then waits for the exit code. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.exitCode === null && this.child.pid) {
      this.child.kill('SIGTERM');
      const deadline = Date.now() + timeoutMs;
      while (this.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (this.exitCode === null) await stopPid(this.child.pid, 0);
    }
    return this.exitCode;
  }
}
