#!/usr/bin/env node
/**
 * The cgwd command line. `run(argv, io)` does all the work and returns the
 * exit code, so tests drive it with string collectors; the few lines at the
 * bottom connect it to the process when this file is the program.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, ecmpActive, formatProblem, SettingsError, type Problem } from '../config/index.js';
import { ControlCommandError } from '../control/client.js';
import { CgwdError } from '../errors.js';
import { CGWD_VERSION } from '../version.js';
import { registerLabCommand } from '../lab/command.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../log/index.js';
import { effectiveView, renderEffectiveView } from './effective-view.js';
import { hostReport } from '../system/host-preflight.js';
import { registerNegotiateCommand } from './negotiate.js';
import { registerUpCommand } from './up.js';
import { EXIT, type CliIo, type ExitCode } from './io.js';
import { loadInputs, type Inputs } from './load-inputs.js';
import { addInputOptions, addSettingsOptions, type InputOptions } from './settings-options.js';

export { EXIT, type CliIo, type ExitCode } from './io.js';

const DESCRIPTION =
  'cgwd makes this Linux host the customer gateway (the on-premises end) of an AWS Site-to-Site VPN connection: ' +
  'both IPsec tunnels to AWS, BGP or static routing over them, and failover between them.';

const INPUT_HELP = `
Input (--config): the configuration AWS provides for the VPN connection, either
  the CustomerGatewayConfiguration XML
    aws ec2 describe-vpn-connections --vpn-connection-ids vpn-... \\
      --query 'VpnConnections[0].CustomerGatewayConfiguration' \\
      --output text > vpn-config.xml
  or the whole JSON that describe-vpn-connections prints, which also carries the
  tunnel options the XML leaves out (IKE versions, algorithms, lifetimes, DPD
  timeout, startup action)
    aws ec2 describe-vpn-connections --vpn-connection-ids vpn-... > vpn-config.json
The console's "Download configuration" text files are not accepted.`;

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  invalid AWS configuration or local settings (every problem is listed on stderr)
  2  usage error (unknown command or option, missing --config)
  3  runtime failure`;


interface GlobalOptions {
  logLevel: LogLevel;
}

function buildProgram(io: CliIo, setExit: (code: ExitCode) => void): Command {
  const program = new Command('cgwd');
  program
    .description(DESCRIPTION)
    .version(CGWD_VERSION, '-V, --version', 'print the cgwd version')
    .addOption(new Option('--log-level <level>', 'log detail on stderr (JSON lines)').choices(LOG_LEVELS).default('warn'))
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .showHelpAfterError('(run "cgwd --help" or "cgwd <command> --help" for usage)')
    .addHelpText('after', INPUT_HELP + '\n' + EXIT_CODES_HELP);

  const loggerFor = (command: Command): Logger =>
    createLogger({ level: command.optsWithGlobals<GlobalOptions>().logLevel, output: io.stderr, base: { command: command.name() } });

  const validate = program
    .command('validate')
    .summary('check an AWS VPN configuration file and local settings')
    .description(
      'Check the AWS configuration of a Site-to-Site VPN connection, and the local settings, the way cgwd will use them: ' +
        'XML structure, both ipsec_tunnel elements, outside and inside addresses (a /30 in 169.254.0.0/16 with AWS on .1 and ' +
        'the customer gateway on .2), pre-shared keys, BGP ASNs and hold times, algorithms, lifetimes, DPD, and TunnelOptions ' +
        'matched to tunnels by AWS outside address. Prints a one-line summary when valid; otherwise lists every problem on ' +
        'stderr with its element path and rule.',
    );
  addSettingsOptions(addInputOptions(validate))
    .option('--host', 'also check this host as cgwd up would use it (IPv4 forwarding, rp_filter, underlay MTU toward AWS, interface names); changes nothing; exit 1 when a check fails')
    .addHelpText('after', INPUT_HELP + '\n' + EXIT_CODES_HELP)
    .action(async (options: InputOptions & { host?: boolean }, command: Command) => {
      const log = loggerFor(command);
      const inputs = loadInputs(options, log);
      io.stdout.write(`${okSummary(inputs)}\n`);
      log.info({ connection: inputs.config.connectionId }, 'configuration valid');
      if (options.host) {
        const checks = await hostReport(inputs.config.tunnels.map((t) => t.aws.outsideAddress), inputs.settings.interfaces, ecmpActive(inputs.settings, inputs.config));
        for (const c of checks) io.stdout.write(`host ${c.level.padEnd(4)} ${c.check.padEnd(12)} ${c.message}\n`);
        if (checks.some((c) => c.level === 'fail')) {
          setExit(EXIT.invalidConfiguration);
          return;
        }
      }
      setExit(EXIT.ok);
    });

  const show = program
    .command('show')
    .summary('print the effective per-tunnel configuration cgwd will use')
    .description(
      'Print what cgwd will use for each tunnel: outside and inside addresses, BGP ASNs and hold time, the IKE and IPsec ' +
        'proposals (transform names), lifetimes, DPD, TCP MSS clamp, DF bit and fragmentation, and the IKE version; and for ' +
        'each value whether it came from the XML, from TunnelOptions (JSON) or from AWS defaults. The pre-shared key is ' +
        'shown masked, never in clear.',
    );
  addSettingsOptions(addInputOptions(show))
    .option('--json', 'machine-readable JSON instead of tables')
    .addHelpText('after', INPUT_HELP + '\n' + EXIT_CODES_HELP)
    .action((options: InputOptions & { json?: boolean }, command: Command) => {
      const log = loggerFor(command);
      const { config, settings } = loadInputs(options, log);
      const view = effectiveView(config, settings);
      io.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : renderEffectiveView(view));
      setExit(EXIT.ok);
    });

  registerUpCommand(program, io, setExit);
  registerNegotiateCommand(program, io, loggerFor, setExit);

  registerLabCommand(program, {
    out: (line) => io.stdout.write(`${line}\n`),
    err: (line) => io.stderr.write(`${line}\n`),
  });
  return program;
}

function okSummary({ config, settings }: Inputs): string {
  const gateway = config.target === 'vgw' ? `virtual private gateway ${config.vpnGatewayId ?? ''}` : 'transit gateway';
  const routing = config.routing === 'bgp' ? 'BGP' : 'static routing';
  const [t1, t2] = config.tunnels;
  return (
    `OK ${config.connectionId}: ${routing} to ${gateway}; ` +
    `tunnel 1 ${t1.customer.outsideAddress} → ${t1.aws.outsideAddress} (${t1.insideCidr}), ` +
    `tunnel 2 ${t2.customer.outsideAddress} → ${t2.aws.outsideAddress} (${t2.insideCidr}); ${settings.ikeVersion}; from ${config.source.toUpperCase()}`
  );
}

function printProblems(io: CliIo, heading: string, problems: readonly Problem[]): void {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  io.stderr.write(`cgwd: ${heading} (${count}):\n${problems.map((p) => `  ${formatProblem(p)}\n`).join('')}`);
}

function exitCodeFor(error: unknown, io: CliIo): ExitCode {
  if (error instanceof ConfigError) {
    printProblems(io, 'invalid AWS VPN configuration', error.problems);
    return EXIT.invalidConfiguration;
  }
  if (error instanceof SettingsError) {
    printProblems(io, 'invalid local settings', error.problems);
    return EXIT.invalidConfiguration;
  }
  if (error instanceof ControlCommandError && error.code === 'RELOAD_INVALID' && Array.isArray(error.details)) {
    printProblems(io, 'reload failed, nothing changed', error.details as Problem[]);
    return EXIT.invalidConfiguration;
  }
  if (error instanceof ControlCommandError && error.code === 'RELOAD_REFUSED' && Array.isArray(error.details)) {
    const reasons = error.details.map(String);
    io.stderr.write(`cgwd: reload refused, nothing changed (${reasons.length} reason${reasons.length === 1 ? '' : 's'}):\n${reasons.map((r) => `  ${r}\n`).join('')}`);
    return EXIT.invalidConfiguration;
  }
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help/version text).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof CgwdError) {
    io.stderr.write(`cgwd: ${error.message} (${error.code})\n`);
    return EXIT.runtime;
  }
  io.stderr.write(`cgwd: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.runtime;
}

/** Runs the cgwd command line with `argv` (the arguments after the program name); resolves to the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  try {
    const program = buildProgram(io, (code) => (exitCode = code));
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

function isProgramEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgramEntry()) {
  // A closed pipe (cgwd show | head) ends output quietly instead of with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
