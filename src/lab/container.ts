/**
 * The customer gateway from the container image (`cgwd lab run --container`).
 *
 *   mmdebstrap (Debian's packages, no registry) ─► podman import ─► localhost/cgwd-base:bookworm
 *   npm run package ─► dist-pkg/cgwd_*.deb ─► podman build -f Containerfile ─► localhost/cgwd:<version>
 *   podman run --network ns:/run/netns/cgwd-cgw --device /dev/net/tun --cap-drop all
 *              --cap-add NET_ADMIN,NET_BIND_SERVICE localhost/cgwd:<version> up …
 *
 * The base is built once (about 20 s to 2 min) and kept; the image is rebuilt on every run
 * (seconds: podman's layer cache) so it carries the current package. podman's default
 * runtime crun cannot set rlimits on these machines, so runc with lowered limits is used.
 * The container's network is the lab's customer namespace. The keepalive probes run inside the
 * data plane (no ping, no raw or ICMP socket), so no CAP_NET_RAW and no ping_group_range.
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CgwdError } from '../errors.js';
import { run, runCommand } from '../system/exec.js';
import { CGWD_VERSION } from '../version.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONTAINER_BASE_IMAGE = 'localhost/cgwd-base:bookworm';
export const CONTAINER_IMAGE = `localhost/cgwd:${CGWD_VERSION}`;
/** What the package depends on, so the image build needs no network. */
export const BASE_PACKAGES = ['ca-certificates', 'iproute2', 'libstdc++6', 'adduser'];
/** The only capabilities the container gets. */
export const CONTAINER_CAPABILITIES = ['NET_ADMIN', 'NET_BIND_SERVICE'] as const;
const RUNTIME = ['--runtime', 'runc'];
const ULIMITS = ['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];
/** Debian packages this needs (installed with apt-get when missing, as the lab does for its own). */
const CONTAINER_TOOLS: readonly [file: string, pkg: string][] = [
  ['/usr/bin/podman', 'podman'],
  ['/usr/sbin/runc', 'runc'],
  ['/usr/bin/mmdebstrap', 'mmdebstrap'],
  ['/usr/bin/newuidmap', 'uidmap'],
];

export interface ContainerRun {
  name: string;
  netns: string;
  /** Host path of the AWS file, mounted read-only at /etc/cgwd/vpn.json. */
  configPath: string;
  /** Host directory mounted at /run/cgwd (the control socket). */
  runDir: string;
  /** Arguments after `up --config /etc/cgwd/vpn.json`. */
  upArgs: readonly string[];
  image?: string;
}

/** The podman command line of one container run (pure: the unit tests read it). */
export function podmanRunArgs(r: ContainerRun): string[] {
  return [
    ...RUNTIME,
    'run', '--rm', '--name', r.name,
    ...ULIMITS,
    '--network', `ns:/run/netns/${r.netns}`,
    '--device', '/dev/net/tun',
    '--cap-drop', 'all',
    '--cap-add', CONTAINER_CAPABILITIES.join(','),
    '--volume', `${r.configPath}:/etc/cgwd/vpn.json:ro`,
    '--volume', `${r.runDir}:/run/cgwd`,
    r.image ?? CONTAINER_IMAGE,
    'up', '--config', '/etc/cgwd/vpn.json', ...r.upArgs,
  ];
}

async function installMissingTools(log: (line: string) => void): Promise<void> {
  const missing = [...new Set(CONTAINER_TOOLS.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} with apt-get`);
  process.env.DEBIAN_FRONTEND = 'noninteractive';
  await run('apt-get', ['update', '-qq'], 600_000);
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], 900_000);
}

async function imageExists(image: string): Promise<boolean> {
  return (await runCommand('podman', ['image', 'exists', image])).code === 0;
}

/** The newest dist-pkg/cgwd_<version>-*.deb, built (npm run package) when missing or older than the build. */
async function ensurePackage(log: (line: string) => void): Promise<string> {
  const dir = path.join(packageRoot, 'dist-pkg');
  const find = (): string | undefined =>
    existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(`cgwd_${CGWD_VERSION}-`) && f.endsWith('.deb')).map((f) => path.join(dir, f))[0] : undefined;
  const built = [path.join(packageRoot, 'dist', 'cli', 'main.js'), path.join(packageRoot, 'native', 'build', 'Release', 'cgwd_dataplane.node')]
    .filter((f) => existsSync(f))
    .map((f) => statSync(f).mtimeMs);
  const deb = find();
  if (deb && statSync(deb).mtimeMs >= Math.max(0, ...built)) return deb;
  log('building the Debian package (npm run package)');
  await run(process.execPath, [path.join(packageRoot, 'scripts', 'package-deb.mjs')], 900_000);
  const fresh = find();
  if (!fresh) throw new CgwdError('CONTAINER_NO_PACKAGE', 'npm run package produced no dist-pkg/cgwd_*.deb');
  return fresh;
}

/** Base image (once), package (when stale), image (always; cached layers). Returns the image name. */
export async function ensureContainerImage(log: (line: string) => void = () => {}): Promise<string> {
  await installMissingTools(log);
  const work = mkdtempSync(path.join(tmpdir(), 'cgwd-image-'));
  try {
    if (!(await imageExists(CONTAINER_BASE_IMAGE))) {
      log(`building ${CONTAINER_BASE_IMAGE} from Debian's packages (mmdebstrap)`);
      const tar = path.join(work, 'base.tar');
      await run('mmdebstrap', ['--quiet', '--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, 'bookworm', tar], 1_200_000);
      await run('podman', ['import', tar, CONTAINER_BASE_IMAGE], 300_000);
      rmSync(tar, { force: true });
    }
    const deb = await ensurePackage(log);
    const context = path.join(work, 'context');
    mkdirSync(context);
    copyFileSync(path.join(packageRoot, 'Containerfile'), path.join(context, 'Containerfile'));
    copyFileSync(deb, path.join(context, path.basename(deb)));
    log(`building ${CONTAINER_IMAGE} (Containerfile, ${path.basename(deb)})`);
    await run('podman', [...RUNTIME, 'build', '--quiet', '--network', 'none', ...ULIMITS, '--build-arg', `BASE=${CONTAINER_BASE_IMAGE}`, '-t', CONTAINER_IMAGE, '-f', path.join(context, 'Containerfile'), context], 900_000);
    return CONTAINER_IMAGE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Removes a container of ours that a killed run left behind (by its exact name). */
export async function removeContainer(name: string): Promise<void> {
  await runCommand('podman', [...RUNTIME, 'rm', '--force', name]);
}

/** Starts `podman run` (in the root namespace; the container joins the lab's) with its output in logFile; returns podman's PID. */
export function startContainer(r: ContainerRun, logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn('podman', podmanRunArgs(r), { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new CgwdError('SPAWN_FAILED', 'could not start podman');
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
