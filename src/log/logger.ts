import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACTED } from '../config/secret.js';
import { REDACT_PATHS, redactSecrets } from './redact.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Anything with write(line): process.stdout, a test's array collector, a file stream. */
export interface LogOutput {
  write(line: string): unknown;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where JSON lines go; default stdout (journald captures it under systemd). */
  output?: LogOutput;
  /** Fields added to every line, e.g. { component: 'cli' }. */
  base?: Record<string, string | number>;
}

/** A pino logger writing one JSON object per line, with secrets redacted (see redact.ts). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination: DestinationStream = opts.output ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: opts.level ?? 'info',
      base: { name: 'cgwd', ...opts.base },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      formatters: {
        log: (object) => redactSecrets(object) as Record<string, unknown>,
        bindings: (bindings) => redactSecrets(bindings) as Record<string, unknown>,
      },
      hooks: {
        // Interpolation arguments ("%s", "%o") bypass the formatters; clean them too.
        logMethod(args, method) {
          const cleaned = args.map((arg: unknown) => redactSecrets(arg)) as Parameters<typeof method>;
          method.apply(this, cleaned);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
