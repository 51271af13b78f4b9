/**
 * `cgwd negotiate`: bring up the IKE SAs and CHILD SAs of the tunnels and keep
 * them (rekeys, liveness, reconnects) without carrying traffic. For checking
 * PSKs, proposals, NAT traversal and reachability of the AWS endpoints before
 * going live, and for the lab's interop tests. Prints one line per SA event.
 */
import { writeSync, closeSync } from 'node:fs';
import { openKeylogFile } from '../ike/connection/keylog.js';
import { Option, type Command } from 'commander';
import type { ChildSaInstall } from '../ike/runtime.js';
import type { KeylogEntry } from '../ike/index.js';
import type { Logger } from '../log/index.js';
import { UdpIkeSockets } from '../ike/transport/udp.js';
import { IkePair, resolveBindAddress, type TunnelIndex } from '../tunnel/ike-pair.js';
import { EXIT, type CliIo, type ExitCode } from './io.js';
import { loadInputs } from './load-inputs.js';
import { addInputOptions, addSettingsOptions, type InputOptions } from './settings-options.js';
import { addTimingOptions, timingFrom, type TimingFlags } from './timing-options.js';

interface NegotiateOptions extends InputOptions, TimingFlags {
  tunnel: 'both' | '1' | '2';
  role: 'customer' | 'aws';
  once?: boolean;
  json?: boolean;
  keylog?: string;
}

/** Key log lines for the lab and for decrypting captures; never written unless asked for. */
function keylogWriter(file: string): { write: (tunnel: TunnelIndex, entry: KeylogEntry) => void; close: () => void } {
  const fd = openKeylogFile(file); // O_EXCL | O_NOFOLLOW, 0600 (issue 13)
  const hex = (b: Buffer | undefined): string | undefined => b?.toString('hex');
  return {
    write(tunnel, entry) {
      const line =
        entry.kind === 'ike'
          ? {
              kind: 'ike', tunnel, spiI: entry.spiI, spiR: entry.spiR,
              skD: hex(entry.keys.skD), skAi: hex(entry.keys.skAi), skAr: hex(entry.keys.skAr),
              skEi: hex(entry.keys.skEi), skEr: hex(entry.keys.skEr), skPi: hex(entry.keys.skPi), skPr: hex(entry.keys.skPr),
            }
          : childKeylog(tunnel, entry.install);
      writeSync(fd, `${JSON.stringify(line)}\n`);
    },
    close: () => closeSync(fd),
  };
}

function childKeylog(tunnel: TunnelIndex, sa: ChildSaInstall): Record<string, unknown> {
  return {
    kind: 'child', tunnel, id: sa.id,
    spiIn: sa.spiIn.toString(16).padStart(8, '0'), spiOut: sa.spiOut.toString(16).padStart(8, '0'),
    encKeyIn: sa.encKeyIn.toString('hex'), encKeyOut: sa.encKeyOut.toString('hex'),
    integKeyIn: sa.integKeyIn?.toString('hex'), integKeyOut: sa.integKeyOut?.toString('hex'),
  };
}

export function registerNegotiateCommand(program: Command, io: CliIo, loggerFor: (command: Command) => Logger, setExit: (code: ExitCode) => void): void {
  const command = program
    .command('negotiate')
    .summary('bring up the IKE and CHILD SAs of the tunnels, without carrying traffic')
    .description(
      'Negotiate IKE (IKEv2, pre-shared key) with the AWS endpoints of the tunnels and keep the SAs up — rekeys, liveness ' +
        'checks, reconnects — without carrying traffic. Use it to check pre-shared keys, proposals, NAT traversal and that ' +
        'UDP 500/4500 reach AWS before running cgwd up. Prints one line per IKE/CHILD SA event; stops on Ctrl-C or SIGTERM ' +
        '(deleting the SAs at AWS), or with --once as soon as every tunnel has its CHILD SA.',
    );
  addTimingOptions(addSettingsOptions(addInputOptions(command)))
    .addOption(new Option('--tunnel <which>', 'which tunnel(s)').choices(['both', '1', '2']).default('both'))
    .addOption(new Option('--role <role>', 'customer: initiate as the customer gateway; aws: answer as the AWS side of the same file (lab peer)').choices(['customer', 'aws']).default('customer'))
    .option('--once', 'exit 0 once every selected tunnel has a CHILD SA (exit 3 if one fails for good)')
    .option('--json', 'one JSON object per line instead of text')
    .option('--keylog <file>', 'write derived IKE and ESP keys to FILE, a new file (JSON lines, mode 0600), for decrypting captures; keep it secret')
    .action(async (options: NegotiateOptions, cmd: Command) => {
      const log = loggerFor(cmd);
      const { config, settings } = loadInputs(options, log);
      const tunnels: TunnelIndex[] = options.tunnel === 'both' ? [1, 2] : [Number(options.tunnel) as TunnelIndex];
      const started = Date.now();
      const emit = (event: string, tunnel: TunnelIndex, fields: object): void => {
        const record = { event, tunnel, ms: Date.now() - started, ...fields };
        if (options.json) io.stdout.write(`${JSON.stringify(record)}\n`);
        else io.stdout.write(`tunnel ${tunnel} ${event} ${Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
      };
      const keylog = options.keylog ? keylogWriter(options.keylog) : undefined;
      const role = options.role === 'aws' ? 'responder' : 'initiator';
      // As the customer one socket set serves both tunnels (told apart by the AWS address); as AWS
      // both peers are the same customer address, so each tunnel gets its own AWS address.
      const socketSets = new Map<TunnelIndex, { sockets: UdpIkeSockets; bindAddress: string }>();
      for (const tunnel of tunnels) {
        const bindAddress = role === 'responder' ? (config.tunnels[tunnel - 1]?.aws.outsideAddress ?? '0.0.0.0') : resolveBindAddress(settings, config, role);
        const shared = [...socketSets.values()].find((s) => s.bindAddress === bindAddress);
        socketSets.set(tunnel, shared ?? { sockets: await UdpIkeSockets.open({ bindAddress }), bindAddress });
      }
      const pair = IkePair.start({
        config,
        settings,
        socketsFor: (tunnel) => {
          const set = socketSets.get(tunnel);
          if (!set) throw new Error(`tunnel ${tunnel} not selected`);
          return { demux: set.sockets.demux, bindAddress: set.bindAddress };
        },
        tunnels,
        role,
        sinkFor: () => ({ installChildSa: () => {}, releaseChildSa: () => {}, removeChildSa: () => {} }),
        logger: log,
        timing: timingFrom(options),
        ...(keylog ? { keylog: keylog.write } : {}),
      });
      const childUp = new Set<TunnelIndex>();
      const done = new Promise<ExitCode>((resolve) => {
        for (const [tunnel, connection] of pair.connections) {
          connection.on('ike-up', (e) => emit('ike-up', tunnel, e));
          connection.on('ike-down', (e) => emit('ike-down', tunnel, e));
          connection.on('ike-rekeyed', (e) => emit('ike-rekeyed', tunnel, e));
          connection.on('child-rekeyed', (e) => emit('child-rekeyed', tunnel, e));
          connection.on('child-down', (e) => emit('child-down', tunnel, e));
          connection.on('child-up', (e) => {
            emit('child-up', tunnel, e);
            childUp.add(tunnel);
            if (options.once && tunnels.every((t) => childUp.has(t))) resolve(EXIT.ok);
          });
        }
        const onSignal = (): void => resolve(EXIT.ok);
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      const code = await done;
      await pair.stop();
      for (const s of new Set([...socketSets.values()].map((set) => set.sockets))) await s.close();
      keylog?.close();
      for (const tunnel of tunnels) emit('stopped', tunnel, {});
      setExit(code);
    });
}
