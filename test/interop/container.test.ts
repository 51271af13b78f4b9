/**
 * The lab's main job with the customer gateway from the container image: builds the
 * mmdebstrap base (once per machine), the Debian package and the image, then runs
 * `cgwd lab run --container`. Needs root, podman, runc, mmdebstrap (CI installs them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cgwdRun, LAB_CONTAINER } from '../../src/lab/command.js';
import { CONTAINER_CAPABILITIES, CONTAINER_IMAGE, ensureContainerImage } from '../../src/lab/container.js';
import { runCommand } from '../../src/system/exec.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('cgwd from the container image', () => {
  it('builds the package and the image; the package holds what the issue lists', async () => {
    const started = Date.now();
    const lines: string[] = [];
    expect(await ensureContainerImage((l) => lines.push(l))).toBe(CONTAINER_IMAGE);
    const buildMs = Date.now() - started;
    console.log(`container: image ready in ${(buildMs / 1000).toFixed(1)} s (${lines.join('; ') || 'all cached'})`);
    const deb = readdirSync(path.join(repo, 'dist-pkg')).find((f) => f.endsWith('.deb'));
    expect(deb).toBeDefined();
    const contents = execFileSync('dpkg-deb', ['-c', path.join(repo, 'dist-pkg', deb ?? '')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const file of [
      './usr/bin/cgwd',
      './usr/bin/cgwd-check',
      './usr/lib/cgwd/dist/cli/check.js',
      './usr/lib/cgwd/dist/cli/main.js',
      './usr/lib/cgwd/native/build/Release/cgwd_dataplane.node',
      './usr/lib/cgwd/node/bin/node',
      './usr/lib/systemd/system/cgwd.service',
      './usr/lib/systemd/system/cgwd@.service',
      './usr/lib/sysusers.d/cgwd.conf',
      './usr/share/doc/cgwd/README.md',
    ]) {
      expect(contents).toContain(file);
    }
    expect(contents).not.toContain('cgwd_dataplane_testing.node');
    const inImage = await runCommand('podman', ['--runtime', 'runc', 'run', '--rm', '--network', 'none', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096', CONTAINER_IMAGE, '--version']);
    expect(inImage.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // The capabilities a process in the lab's container holds: exactly NET_BIND_SERVICE (10) and NET_ADMIN (12).
    const caps = await runCommand('podman', ['--runtime', 'runc', 'run', '--rm', '--network', 'none', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096', '--cap-drop', 'all', '--cap-add', CONTAINER_CAPABILITIES.join(','), '--entrypoint', 'grep', CONTAINER_IMAGE, '^Cap', '/proc/self/status']);
    expect(caps.stdout).toMatch(/^CapEff:\s+0000000000001400$/m);
    expect(caps.stdout).toMatch(/^CapBnd:\s+0000000000001400$/m);
  });

  it('the main job passes with the customer gateway running in the container (only NET_ADMIN, NET_BIND_SERVICE)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const started = Date.now();
    await cgwdRun({}, { out: (l) => out.push(l), err: (l) => err.push(l) }, false, true);
    const text = out.join('\n');
    console.log(`container main job: ${((Date.now() - started) / 1000).toFixed(1)} s; ${out.at(-1) ?? ''}`);
    expect(err.join('\n')).toContain(`as container ${LAB_CONTAINER}`);
    expect(text).toMatch(/on-prem → VPC 10\/10, VPC → on-prem 10\/10 pings answered/);
    expect(text).toMatch(/tunnel 1 .*\n(?:.*\n)*?\s+4 BGP\s+Established/);
    // Gone afterwards: podman removed the container.
    expect((await runCommand('podman', ['--runtime', 'runc', 'container', 'exists', LAB_CONTAINER])).code).not.toBe(0);
    expect(existsSync('/run/netns/cgwd-cgw')).toBe(false);
  });
});
