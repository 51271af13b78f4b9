import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BASE_PACKAGES, CONTAINER_IMAGE, podmanRunArgs } from '../../../src/lab/container.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('the lab container run', () => {
  const args = podmanRunArgs({ name: 'cgwd-lab-cgw', netns: 'cgwd-cgw', configPath: '/x/vpn.xml', runDir: '/x/run', upArgs: ['--advertise', '192.0.2.0/24'] });
  const values = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));

  it("joins the lab's customer namespace with /dev/net/tun and only NET_ADMIN and NET_BIND_SERVICE", () => {
    expect(values('--network')).toEqual(['ns:/run/netns/cgwd-cgw']);
    expect(values('--device')).toEqual(['/dev/net/tun']);
    expect(values('--cap-drop')).toEqual(['all']);
    expect(values('--cap-add')).toEqual(['NET_ADMIN,NET_BIND_SERVICE']);
    expect(args).not.toContain('--privileged');
    expect(values('--runtime')).toEqual(['runc']);
  });

  it('mounts the AWS file read-only and runs cgwd up from the image', () => {
    expect(values('--volume')).toEqual(['/x/vpn.xml:/etc/cgwd/vpn.json:ro', '/x/run:/run/cgwd']);
    const image = args.indexOf(CONTAINER_IMAGE);
    expect(args.slice(image + 1)).toEqual(['up', '--config', '/etc/cgwd/vpn.json', '--advertise', '192.0.2.0/24']);
  });

  it('the Containerfile builds FROM the mmdebstrap base and installs the package, whose dependencies the base holds', () => {
    const containerfile = readFileSync(path.join(repo, 'Containerfile'), 'utf8');
    expect(containerfile).toMatch(/^ARG BASE=localhost\/cgwd-base:bookworm$/m);
    expect(containerfile).toMatch(/^FROM \$\{BASE\}$/m);
    expect(containerfile).toMatch(/^RUN dpkg -i \/tmp\/cgwd_\*\.deb/m);
    const depends = /'Depends: ([^']+)'/.exec(readFileSync(path.join(repo, 'scripts', 'package-deb.mjs'), 'utf8'))?.[1] ?? '';
    const names = depends.split(',').map((d) => d.trim().split(' ')[0] ?? '');
    for (const name of names.filter((n) => n !== 'libc6')) expect(BASE_PACKAGES).toContain(name);
  });
});
