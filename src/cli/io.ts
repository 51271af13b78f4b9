/** Where a command writes: process streams in production, string collectors in tests. */
export interface Writer {
  write(text: string): unknown;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
}

export const EXIT = {
  ok: 0,
  invalidConfiguration: 1,
  /** `cgwd status --check`: the daemon answers but its tunnels do not carry traffic. */
  checkFailed: 1,
  usage: 2,
  /** Reserved for failures while running (cgwd up). */
  runtime: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
