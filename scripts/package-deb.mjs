#!/usr/bin/env node
// Builds the Debian package (dpkg-deb; no debhelper needed): `npm run package` → dist-pkg/cgwd_<version>-1_<arch>.deb.
//
// Layout: /usr/lib/cgwd holds the built JavaScript, the production node_modules, the native
// data-plane addon and the Node.js runtime it was built against (Debian 12's own nodejs is 18,
// older than cgwd needs, and an addon must match its runtime's ABI); /usr/bin/cgwd runs it.
// The units go to /usr/lib/systemd/system, the user to /usr/lib/sysusers.d, examples to
// /usr/share/doc/cgwd/examples and an example settings file to /etc/cgwd.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const debVersion = `${pkg.version}-1`;
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const outDir = path.join(root, 'dist-pkg');
const addon = path.join(root, 'native', 'build', 'Release', 'cgwd_dataplane.node');

function run(file, args, options = {}) {
  execFileSync(file, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

function put(from, to, mode = 0o644) {
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, mode);
}

function write(to, text, mode = 0o644) {
  mkdirSync(path.dirname(to), { recursive: true });
  writeFileSync(to, text);
  chmodSync(to, mode);
}

if (!existsSync(path.join(root, 'dist', 'cli', 'main.js')) || !existsSync(addon)) {
  console.error('package: building first (tsc and the native addon)');
  run('npm', ['run', 'build'], { cwd: root });
}

const stage = mkdtempSync(path.join(tmpdir(), 'cgwd-deb-'));
try {
  const lib = path.join(stage, 'usr', 'lib', 'cgwd');
  cpSync(path.join(root, 'dist'), path.join(lib, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  for (const file of ['package.json', 'package-lock.json']) put(path.join(root, file), path.join(lib, file));
  // Runtime dependencies only, exactly as locked; no install scripts (the addon is copied built).
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: lib });
  put(addon, path.join(lib, 'native', 'build', 'Release', 'cgwd_dataplane.node'), 0o755);
  put(process.execPath, path.join(lib, 'node', 'bin', 'node'), 0o755);
  write(path.join(stage, 'usr', 'bin', 'cgwd'), '#!/bin/sh\nexec /usr/lib/cgwd/node/bin/node /usr/lib/cgwd/dist/cli/main.js "$@"\n', 0o755);
  // keepalived's health check, every second: an entry point that loads only the control-socket client.
  write(path.join(stage, 'usr', 'bin', 'cgwd-check'), '#!/bin/sh\nexec /usr/lib/cgwd/node/bin/node /usr/lib/cgwd/dist/cli/check.js "$@"\n', 0o755);

  for (const unit of ['cgwd.service', 'cgwd@.service']) put(path.join(root, 'systemd', unit), path.join(stage, 'usr', 'lib', 'systemd', 'system', unit));
  put(path.join(root, 'systemd', 'sysusers.d', 'cgwd.conf'), path.join(stage, 'usr', 'lib', 'sysusers.d', 'cgwd.conf'));
  put(path.join(root, 'configs', 'settings.example.json'), path.join(stage, 'etc', 'cgwd', 'settings.example.json'));

  const doc = path.join(stage, 'usr', 'share', 'doc', 'cgwd');
  put(path.join(root, 'README.md'), path.join(doc, 'README.md'));
  put(path.join(root, 'packaging', 'debian', 'copyright'), path.join(doc, 'copyright'));
  for (const example of ['vpn-config.example.xml', 'settings.example.json']) put(path.join(root, 'configs', example), path.join(doc, 'examples', example));
  for (const dir of ['prometheus', 'grafana', 'keepalived']) {
    if (existsSync(path.join(root, 'configs', dir))) cpSync(path.join(root, 'configs', dir), path.join(doc, 'examples', dir), { recursive: true });
  }
  const nodeLicense = '/usr/share/doc/nodejs/copyright';
  if (existsSync(nodeLicense)) put(nodeLicense, path.join(doc, 'nodejs.copyright'));

  const installedKb = Math.ceil(Number(execFileSync('du', ['-sk', stage], { encoding: 'utf8' }).split('\t')[0]));
  const control = [
    'Package: cgwd',
    `Version: ${debVersion}`,
    `Architecture: ${arch}`,
    'Maintainer: cgwd developers <cgwd@example.org>',
    `Installed-Size: ${installedKb}`,
    'Depends: libc6 (>= 2.36), libstdc++6, iproute2, adduser',
    'Recommends: systemd',
    'Section: net',
    'Priority: optional',
    'Homepage: https://example.org/cgwd',
    `Description: ${pkg.description}`,
    ' cgwd turns a Linux box into the on-premises end of an AWS Site-to-Site VPN: it reads',
    " the configuration file AWS hands out, runs IKEv2 or IKEv1 with both AWS tunnels, carries",
    ' ESP through one TUN interface per tunnel, keeps the tunnels alive, fails over between',
    ' them and runs a BGP speaker. One daemon instead of strongSwan, VTIs and FRR.',
    '',
  ].join('\n');
  const debian = path.join(stage, 'DEBIAN');
  write(path.join(debian, 'control'), control);
  write(path.join(debian, 'conffiles'), '/etc/cgwd/settings.example.json\n');
  for (const script of ['postinst', 'prerm', 'postrm']) put(path.join(root, 'packaging', 'debian', script), path.join(debian, script), 0o755);

  mkdirSync(outDir, { recursive: true });
  const deb = path.join(outDir, `cgwd_${debVersion}_${arch}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb]);
  console.log(`package: ${path.relative(root, deb)} (${(statSync(deb).size / 1e6).toFixed(1)} MB)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
