/** Helpers for tests in the several-connection lab (src/lab/multi-lab.ts): a cgwd per box and connection. */
import type { DaemonStatus } from '../../../src/daemon/status.js';
import { execIn, execInResult, waitFor } from '../../../src/system/exec.js';
import { CLI, CgwdProcess } from './cgwd-process.js';

export interface BoxCgwd {
  namespace: string;
  socket: string;
  process: CgwdProcess;
}

export function startCgwd(namespace: string, stateDir: string, socket: string, args: readonly string[]): BoxCgwd {
  return { namespace, socket, process: new CgwdProcess(namespace, ['up', '--control-socket', socket, ...args], stateDir) };
}

export async function status(c: BoxCgwd): Promise<DaemonStatus> {
  return JSON.parse(await execIn(c.namespace, process.execPath, [CLI, 'status', '--json', '--control-socket', c.socket])) as DaemonStatus;
}

/** Waits until every tunnel of `c` carries traffic (`cgwd status --check all`). */
export async function waitHealthy(c: BoxCgwd, timeoutMs = 90_000): Promise<void> {
  await waitFor(`cgwd in ${c.namespace} (${c.socket}) healthy`, async () => {
    if (c.process.exitCode !== null) throw new Error(`cgwd exited (${c.process.exitCode}): ${c.process.stderr.slice(-1500)}`);
    const r = await execInResult(c.namespace, process.execPath, [CLI, 'status', '--check', 'all', '--control-socket', c.socket]);
    return r.code === 0 ? true : undefined;
  }, timeoutMs, 500);
}
