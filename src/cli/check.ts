#!/usr/bin/env node
/**
 * `cgwd-check [--control-socket PATH] [any|all]`: the same verdict and exit status as
 * `cgwd status --check`, from an entry point that loads only the control-socket client. keepalived
 * runs its check every second on each box; the full CLI loads every module of the daemon first
 * (about 0.8 s of CPU on the lab's machine against about 0.2 s for this one), which on a loaded box
 * can outlast the check's timeout. Exit: 0 healthy, 1 not, 2 usage, 3 no answer from cgwd.
 */
import { queryStatus } from '../control/client.js';
import { healthVerdict, parseCheckMode } from '../control/health.js';
import { CgwdError } from '../errors.js';
import { SETTINGS_DEFAULTS } from '../config/settings.js';

async function main(argv: readonly string[]): Promise<number> {
  let socket: string = SETTINGS_DEFAULTS.controlSocket;
  let mode: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--control-socket' && argv[i + 1] !== undefined) socket = argv[(i += 1)] ?? socket;
    else if (arg !== undefined && !arg.startsWith('-') && mode === undefined) mode = arg;
    else {
      process.stderr.write(`usage: cgwd-check [--control-socket PATH] [any|all]\n`);
      return 2;
    }
  }
  let which;
  try {
    which = parseCheckMode(mode);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  try {
    const verdict = healthVerdict(await queryStatus(socket, 2_000), which);
    process.stdout.write(`${verdict.line}\n`);
    return verdict.healthy ? 0 : 1;
  } catch (error) {
    process.stdout.write(`FAIL ${error instanceof CgwdError ? error.message : String(error)}\n`);
    return 3;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, () => {
  process.exitCode = 3;
});
