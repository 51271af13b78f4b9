/**
 * A real AF_UNIX datagram listener for tests (Node has none): a small python3 child binds
 * the socket (a path, or an '@' abstract name) and prints each datagram base64-encoded on
 * a line. Stopped by PID with close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';

const SCRIPT = `
import base64, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + path[1:] if path.startswith("@") else path)
print("ready", flush=True)
while True:
    data = s.recv(1 << 20)
    print(base64.b64encode(data).decode(), flush=True)
`;

export class UnixDatagramListener {
  readonly datagrams: Buffer[] = [];
  /** Arrival time (Date.now()) of each datagram. */
  readonly arrivals: number[] = [];
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();

  private constructor(readonly path: string, child: ChildProcess) {
    this.#child = child;
  }

  static open(path: string, mode?: number): Promise<UnixDatagramListener> {
    const child = spawn('python3', ['-c', SCRIPT, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const listener = new UnixDatagramListener(path, child);
    return new Promise((resolve, reject) => {
      let buffered = '';
      let ready = false;
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => {
        if (!ready) reject(new Error(`datagram listener on ${path} exited (${code}): ${stderr}`));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!ready && line === 'ready') {
            ready = true;
            if (mode !== undefined && !path.startsWith('@')) chmodSync(path, mode);
            resolve(listener);
            continue;
          }
          listener.datagrams.push(Buffer.from(line, 'base64'));
          listener.arrivals.push(Date.now());
          for (const wake of listener.#waiters) wake();
        }
      });
    });
  }

  /** The datagrams as text. */
  get messages(): string[] {
    return this.datagrams.map((d) => d.toString('utf8'));
  }

  /** Resolves with the first datagram index >= from that matches, or rejects after timeoutMs. */
  waitFor(match: (message: string) => boolean, timeoutMs: number, from = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = this.messages.findIndex((m, k) => k >= from && match(m));
        if (i < 0) return false;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(i);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`no matching datagram on ${this.path} within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-10))}`));
      }, timeoutMs);
      this.#waiters.add(wake);
      check();
    });
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    if (!this.path.startsWith('@')) rmSync(this.path, { force: true });
  }
}
