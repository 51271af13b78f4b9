/**
 * The systemd units as systemd itself reads them: `systemd-analyze verify` against a root
 * holding a copy of the system's units, the units under test and a stub /usr/bin/cgwd.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CAPABILITY } from '../../../src/service/capabilities.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const unitDir = path.join(repo, 'systemd');
const units = readdirSync(unitDir).filter((f) => f.endsWith('.service'));
const work = mkdtempSync(path.join(tmpdir(), 'cgwd-units-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function makeRoot(name: string, extra: Record<string, string> = {}): string {
  const root = path.join(work, name);
  mkdirSync(path.join(root, 'usr', 'lib', 'systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', path.join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(path.join(root, 'usr', 'bin'), { recursive: true });
  writeFileSync(path.join(root, 'usr', 'bin', 'cgwd'), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(root, 'usr', 'bin', 'cgwd'), 0o755);
  const target = path.join(root, 'etc', 'systemd', 'system');
  mkdirSync(target, { recursive: true });
  for (const unit of units) cpSync(path.join(unitDir, unit), path.join(target, unit));
  for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(target, file), text);
  return root;
}

function verify(root: string, names: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', ['verify', `--root=${root}`, ...names], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Template units are verified through one instance. */
const instanceName = (unit: string): string => unit.replace('@.service', '@vpn-0123.service');

describe('systemd units', () => {
  it('there are the plain and the template unit', () => {
    expect(units.sort()).toEqual(['cgwd.service', 'cgwd@.service']);
  });

  it.each(units)('systemd-analyze verify %s prints nothing', async (unit) => {
    const r = await verify(makeRoot(`ok-${unit}`), [instanceName(unit)]);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('the check can fail: an unknown key or a missing ExecStart binary is reported', async () => {
    const broken = `${readFileSync(path.join(unitDir, 'cgwd.service'), 'utf8')}\n[Service]\nNoSuchSetting=1\nExecStartPre=/usr/bin/cgwd-missing\n`;
    const r = await verify(makeRoot('broken', { 'cgwd-broken.service': broken }), ['cgwd-broken.service']);
    expect(r.output).toMatch(/Unknown key 'NoSuchSetting'/);
    expect(r.output).toMatch(/cgwd-missing/);
  });

  it.each(units)('%s: notify with a watchdog, and exactly the capabilities cgwd up checks', (unit) => {
    const text = readFileSync(path.join(unitDir, unit), 'utf8');
    const value = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();
    expect([value('Type'), value('NotifyAccess'), value('WatchdogSec'), value('User'), value('NoNewPrivileges')]).toEqual(['notify', 'main', '20s', 'cgwd', 'yes']);
    const caps = Object.keys(CAPABILITY).sort();
    expect(value('AmbientCapabilities')?.split(/\s+/).sort()).toEqual(caps);
    expect(value('CapabilityBoundingSet')?.split(/\s+/).sort()).toEqual(caps);
    expect(value('DeviceAllow')).toBe('/dev/net/tun rw');
  });
});
