/** Reading configuration input with a size cap, so a huge or endless file (a FIFO, /dev/zero) cannot exhaust memory. */
import { closeSync, openSync, readSync } from 'node:fs';
import type { ProblemList } from './problems.js';

/** Largest configuration or settings input accepted; real AWS files are ~4 KiB, a describe dump of 50 connections ~300 KiB. */
export const MAX_INPUT_BYTES = 1024 * 1024;

export function checkInputSize(text: string, documentPath: string, problems: ProblemList): boolean {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= MAX_INPUT_BYTES) return true;
  problems.add(documentPath, 'input-size', `is ${bytes} bytes; the limit is ${MAX_INPUT_BYTES} bytes (1 MiB)`);
  return false;
}

/** Reads at most MAX_INPUT_BYTES (+1 to detect overflow) of a UTF-8 file; records a problem and returns undefined on failure. */
export function readBoundedFile(file: string, problems: ProblemList): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    problems.add(file, 'input-readable', `cannot be opened: ${errorCode(error)}`);
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(MAX_INPUT_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_INPUT_BYTES) {
        problems.add(file, 'input-size', `is larger than ${MAX_INPUT_BYTES} bytes (1 MiB), the limit for configuration files`);
        return undefined;
      }
    }
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    problems.add(file, 'input-readable', `cannot be read: ${errorCode(error)}`);
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    const hints: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
    return `${error.code}${hints[error.code] ? ` (${hints[error.code]})` : ''}`;
  }
  return 'unknown error';
}
