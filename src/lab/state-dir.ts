/**
 * The lab's state directory, which holds what root later acts on — the PIDs `lab down`
 * signals, the updown script charon runs, configuration with PSKs — so nobody else may be able
 * to write there:
 *
 *   privateDirectory   created 0700 if absent; an existing one is used only if it is a real
 *                      directory (not a link), owned by us, with no group or other access
 *   writePrivateFile   written to a new temporary name (O_CREAT | O_EXCL | O_NOFOLLOW) and
 *                      renamed over the target, so no link is ever followed and readers never
 *                      see half a file
 *   processIdentity    a PID with its start time (/proc/PID/stat field 22, proc(5)); a PID is
 *                      signalled only while the same process holds it, never a reused one
 */
import { closeSync, constants as fs, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CgwdError } from '../errors.js';

export class LabStateDirError extends CgwdError {
  constructor(dir: string, reason: string) {
    super('LAB_STATE_DIR_UNSAFE', `lab state directory ${dir}: ${reason}`);
  }
}

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** Throws LabStateDirError unless `dir` is a directory of ours that only we can enter. */
export function checkPrivateDirectory(dir: string): void {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new LabStateDirError(dir, 'is a symbolic link');
  if (!st.isDirectory()) throw new LabStateDirError(dir, 'is not a directory');
  if (st.uid !== currentUid()) throw new LabStateDirError(dir, `is owned by uid ${st.uid}, not by us (uid ${currentUid()})`);
  if ((st.mode & 0o077) !== 0) throw new LabStateDirError(dir, `has group/other permissions (mode ${(st.mode & 0o777).toString(8)}; want 700)`);
}

/** Creates `dir` (and missing parents) mode 0700, or checks the existing one (checkPrivateDirectory). */
export function privateDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  checkPrivateDirectory(dir);
}

/** True when `dir` does not exist (nothing to check, nothing to trust). */
export function isAbsent(dir: string): boolean {
  try {
    lstatSync(dir);
    return false;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** Writes `data` to `file` without following links: a fresh temporary file renamed over it. */
export function writePrivateFile(file: string, data: string, mode = 0o600): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode);
    const bytes = Buffer.from(data);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, file);
}

/** Reads a file that must not be a link (O_NOFOLLOW). */
export function readPrivateFile(file: string): string {
  const fd = openSync(file, fs.O_RDONLY | fs.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isFile()) throw new LabStateDirError(file, 'is not a regular file');
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The start time of process `pid` in clock ticks since boot (proc(5), /proc/PID/stat field 22), or undefined. */
export function processStartTime(pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may hold spaces or ')': count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(rest[19]); // fields 3.. → index 0 is field 3, so field 22 is index 19
  return Number.isFinite(start) ? start : undefined;
}

/** True when `pid` still belongs to the process that had `startTime` when the lab recorded it. */
export function isSameProcess(pid: number, startTime: number | undefined): boolean {
  return startTime !== undefined && processStartTime(pid) === startTime;
}
