/**
 * `cgwd up` (run the gateway) and `cgwd status` (ask the running one).
 */
import { healthVerdict, parseCheckMode } from '../control/health.js';
import { Option, type Command } from 'commander';
import { Daemon } from '../daemon/daemon.js';
import { CgwdError } from '../errors.js';
import { assertCapabilities, assertTunAccess } from '../service/capabilities.js';
import { controlRequest, queryStatus } from '../control/client.js';
import type { ReloadResult } from '../daemon/reload.js';
import { renderStatus } from './status-view.js';
import { createLogger, journalOutputFromEnvironment, type LogLevel } from '../log/index.js';
import { SETTINGS_DEFAULTS } from '../config/index.js';
import { EXIT, type CliIo, type ExitCode } from './io.js';
import { loadInputs } from './load-inputs.js';
import { addInputOptions, addSettingsOptions, type InputOptions } from './settings-options.js';
import { addTimingOptions, timingFrom, type TimingFlags } from './timing-options.js';

interface UpOptions extends InputOptions, TimingFlags {
  role: 'customer' | 'aws';
}

export function registerUpCommand(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  const up = program
    .command('up')
    .summary('run the customer gateway: both tunnels, keepalives, failover')
    .description(
      'Run this host as the customer gateway of the VPN connection until stopped: IKE with both AWS endpoints, ESP through ' +
        'one TUN interface per tunnel (cgw-t1, cgw-t2) carrying the tunnel inside address, keepalive pings so idle tunnels stay ' +
        'up, and for static routing the VPC prefixes (--static-route) through the healthy tunnel, tunnel 1 preferred. ' +
        'Needs root (CAP_NET_ADMIN) for the TUN interfaces and routes. SIGINT/SIGTERM: delete the SAs at AWS, remove interfaces ' +
        'and routes, exit 0. Logs are JSON lines on stdout.',
    );
  addTimingOptions(addSettingsOptions(addInputOptions(up)))
    .addOption(new Option('--role <role>', 'customer (default), or aws: play the AWS end of the same file (a lab peer that needs no AWS account)').choices(['customer', 'aws']).default('customer'))
    .action(async (options: UpOptions) => {
      // A daemon logs to stdout (journald, docker logs) at info unless --log-level says otherwise.
      const level: LogLevel = program.getOptionValueSource('logLevel') === 'default' ? 'info' : program.opts<{ logLevel: LogLevel }>().logLevel;
      // Under systemd, lines go to the journal with CGWD_CONNECTION/CGWD_TUNNEL fields (src/log/journal.ts).
      const journal = journalOutputFromEnvironment(io.stdout);
      const log = createLogger({ level, output: journal ?? io.stdout, base: { command: 'up' } });
      const { config, settings } = loadInputs(options, log);
      journal?.setConnection(config.connectionId);
      // A missing capability is named here, not met as EPERM halfway through the start.
      for (const warning of assertCapabilities()) log.warn(warning);
      assertTunAccess();
      // A reload re-reads the same files with the same command-line flags.
      const reloadInputs = (): ReturnType<typeof loadInputs> => loadInputs(options, log);
      const daemon = await Daemon.start({ config, settings, role: options.role, logger: log, timing: timingFrom(options), reloadInputs });
      // SIGHUP: the daemon logs the outcome (and `cgwd status` shows it); a busy reload is just logged.
      const onHangup = (): void => {
        daemon.reload().catch((error: unknown) => {
          // Invalid and refused reloads are logged by the daemon itself.
          if (error instanceof CgwdError && error.code !== 'RELOAD_BUSY' && error.code.startsWith('RELOAD_')) return;
          log.error({ err: error instanceof Error ? error.message : String(error) }, 'SIGHUP reload failed');
        });
      };
      process.on('SIGHUP', onHangup);
      log.info({ connection: config.connectionId, role: options.role }, 'cgwd up');
      io.stdout.write(`cgwd up: ${config.connectionId}, tunnels on ${[...daemon.tunnels.values()].map((t) => t.ifname).join(', ')}; status: cgwd status\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.off('SIGHUP', onHangup);
      log.info('stopping: deleting SAs at the peer, removing interfaces and routes');
      await daemon.stop();
      setExit(EXIT.ok);
    });

  program
    .command('status')
    .summary('show the running gateway: IKE SA, CHILD SA, keepalive, routes, counters per tunnel')
    .description('Ask the running cgwd (over its control socket) for the state of each tunnel, in the order of AWS troubleshooting: IKE SA, CHILD SA (SPIs, suite, age, next rekey), keepalive (RTT, loss), routes; then traffic and drop counters.')
    .option('--control-socket <path>', `the daemon's control socket (default ${SETTINGS_DEFAULTS.controlSocket})`)
    .option('--json', 'machine-readable JSON')
    .option(
      '--check [which]',
      'health check for keepalived or a monitor: one line, exit 0 when any (or with "all", every) tunnel carries traffic ' +
        '(CloudWatch TunnelState 1), 1 when not, 3 when the daemon does not answer',
    )
    .action(async (options: { controlSocket?: string; json?: boolean; check?: boolean | string }) => {
      const status = await queryStatus(options.controlSocket ?? SETTINGS_DEFAULTS.controlSocket);
      if (options.check !== undefined) {
        const verdict = healthVerdict(status, parseCheckMode(options.check));
        io.stdout.write(`${verdict.line}\n`);
        setExit(verdict.healthy ? EXIT.ok : EXIT.checkFailed);
        return;
      }
      io.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
      setExit(EXIT.ok);
    });

  program
    .command('reload')
    .summary('re-read the AWS file and the settings and apply the difference, tunnel by tunnel')
    .description(
      'Ask the running cgwd to re-read its AWS file and local settings (as SIGHUP does) and apply what changed: a tunnel whose ' +
        'pre-shared key, algorithms, lifetimes or DPD settings changed is renegotiated while the other carries the traffic; BGP ' +
        'sessions restart one at a time for a new Amazon ASN or target gateway; advertised prefixes and static routes change ' +
        'without a session reset. An invalid file changes nothing: the problems are listed and the exit status is 1.',
    )
    .option('--control-socket <path>', `the daemon's control socket (default ${SETTINGS_DEFAULTS.controlSocket})`)
    .option('--json', 'machine-readable JSON')
    .action(async (options: { controlSocket?: string; json?: boolean }) => {
      const result = await controlRequest<ReloadResult>(options.controlSocket ?? SETTINGS_DEFAULTS.controlSocket, 'reload', RELOAD_TIMEOUT_MS);
      io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.summary}\n`);
      setExit(EXIT.ok);
    });
}

/** Renegotiating both tunnels one after the other can take a minute against a slow peer. */
const RELOAD_TIMEOUT_MS = 180_000;
