/**
 * The example keepalived.conf (configs/keepalived) is one keepalived accepts, with its health
 * check pointing at a real cgwd CLI. Needs root (a namespace holds the LAN interface it names).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run, runCommand } from '../../src/system/exec.js';
import { CLI } from './helpers/cgwd-process.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NS = 'cgwd-keepalived';
const work = mkdtempSync(path.join(tmpdir(), 'cgwd-keepalived-'));

afterAll(async () => {
  await runCommand('ip', ['netns', 'del', NS]);
  rmSync(work, { recursive: true, force: true });
});

describe('the example keepalived configuration', () => {
  it('passes keepalived --config-test with its health check and notify hook in place', async () => {
    const wrapper = path.join(work, 'cgwd');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const conf = readFileSync(path.join(repo, 'configs', 'keepalived', 'keepalived.conf'), 'utf8')
      .replaceAll('/usr/bin/cgwd', wrapper)
      .replace('/usr/local/bin/cgwd-vrrp-notify', path.join(repo, 'configs', 'keepalived', 'cgwd-vrrp-notify'));
    const file = path.join(work, 'keepalived.conf');
    writeFileSync(file, conf);
    await run('ip', ['netns', 'add', NS]);
    await run('ip', ['-n', NS, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p']);
    const r = await runCommand('ip', ['netns', 'exec', NS, 'keepalived', '--config-test', '-f', file]);
    expect(r.stdout + r.stderr).not.toMatch(/not found|WARNING|Unknown keyword/);
    expect(r.code).toBe(0);
    // The health check it runs: without a cgwd it fails with 3 (no daemon), as keepalived needs.
    const check = await runCommand(wrapper, ['status', '--check', '--control-socket', path.join(work, 'none.sock')]);
    expect(check.code).toBe(3);
  });
});
