/**
 * The lab's state directory (issue 13, finding 2): private to us or refused, files written
 * without following links, and PIDs signalled only while they are the processes the lab started.
 * Runs as root in CI (the lab does); the ownership case hands a directory to another uid.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidsToStop, readLabState, type LabState } from '../../../src/lab/lab.js';
import { LabStateDirError, isSameProcess, privateDirectory, processStartTime, writePrivateFile } from '../../../src/lab/state-dir.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'cgwd-statedir-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function state(dir: string, pids: Record<string, number>, starts: Record<string, number>): LabState {
  return { stateDir: dir, configPath: '/dev/null', options: { nat: false } as LabState['options'], awsLogLevel: 1, pids, starts, startedAt: '' };
}

describe('the state directory', () => {
  it('is created mode 0700', () => {
    const dir = path.join(root, 'lab');
    const old = process.umask(0);
    try {
      privateDirectory(dir);
    } finally {
      process.umask(old);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('an existing one with group or other access is refused, by lab up and by lab down alike', () => {
    const dir = path.join(root, 'lab');
    mkdirSync(dir);
    chmodSync(dir, 0o770);
    writeFileSync(path.join(dir, 'lab.json'), JSON.stringify(state(dir, { planted: 1 }, {})));
    expect(() => privateDirectory(dir)).toThrow(LabStateDirError);
    expect(() => readLabState(dir)).toThrow(expect.objectContaining({ code: 'LAB_STATE_DIR_UNSAFE' }) as Error);
  });

  it('an existing one owned by someone else is refused', () => {
    const dir = path.join(root, 'lab');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534); // nobody
    expect(() => privateDirectory(dir)).toThrow(/owned by uid 65534/);
  });

  it('a symbolic link in place of the directory is refused', () => {
    const real = path.join(root, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = path.join(root, 'lab');
    symlinkSync(real, link);
    expect(() => privateDirectory(link)).toThrow(/symbolic link/);
  });

  it('files are written without following a link planted in their place', () => {
    const dir = path.join(root, 'lab');
    privateDirectory(dir);
    const victim = path.join(root, 'victim');
    writeFileSync(victim, 'precious\n');
    const file = path.join(dir, 'updown.sh');
    symlinkSync(victim, file);
    writePrivateFile(file, '#!/bin/sh\nexit 0\n', 0o700);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o700);
    expect(() => readlinkSync(file)).toThrow();
  });
});

describe('PIDs', () => {
  it('a process is known by its PID and its start time', () => {
    const start = processStartTime(process.pid);
    expect(start).toBeGreaterThan(0);
    expect(isSameProcess(process.pid, start)).toBe(true);
    expect(isSameProcess(process.pid, (start ?? 0) + 1)).toBe(false);
    expect(isSameProcess(process.pid, undefined)).toBe(false);
    expect(processStartTime(0x3fffffff)).toBeUndefined();
  });

  it('lab down signals only PIDs that are still the processes the lab recorded', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? -1;
      const start = processStartTime(pid) ?? -1;
      // A recorded PID now held by another process (a different start time), one that is gone,
      // one recorded without a start time (an old or planted state file), and the real one.
      const s = state(root, { reused: pid, gone: 0x3ffffff0, unknown: process.pid, ours: pid }, { reused: start + 7, gone: 1, ours: start });
      expect(pidsToStop(s)).toEqual([pid]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
