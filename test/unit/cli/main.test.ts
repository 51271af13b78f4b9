import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, readSample, repoRoot } from '../config/helpers.js';
import { cli } from './run-cli.js';

const BGP_XML = fixturePath('aws-samples/sample-batfish-bgp-vgw.xml');
const STATIC_XML = fixturePath('aws-samples/sample-batfish-static-vgw.xml');
const REVERSED_JSON = fixturePath('describe-vpn-connections-reversed.json');
const TWO_JSON = fixturePath('describe-vpn-connections-two.json');

const tmp = mkdtempSync(path.join(tmpdir(), 'cgwd-cli-'));
function tempFile(name: string, contents: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, contents);
  return file;
}

describe('cgwd validate', () => {
  it('exit 0 and a one-line summary for a valid file', async () => {
    const r = await cli('validate', '--config', BGP_XML);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe(
      'OK vpn-ba2e34a8: BGP to virtual private gateway vgw-81fd279f; tunnel 1 147.75.69.27 → 52.27.166.152 (169.254.15.192/30), ' +
        'tunnel 2 147.75.69.27 → 52.39.121.126 (169.254.13.236/30); ikev2; from XML\n',
    );
  });

  it('exit 1 and every problem on stderr, each with path and rule', async () => {
    const bad = readSample('sample-batfish-bgp-vgw.xml')
      .replace('tYrysT4iT0.CRwQnhiBbng.BahDc7YPq', '0YrysT4iT0.CRwQnhiBbng.BahDc7YPq')
      .replace('<tcp_mss_adjustment>1379', '<tcp_mss_adjustment>20');
    const r = await cli('validate', '-c', tempFile('bad.xml', bad));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'cgwd: invalid AWS VPN configuration (2 problems):\n' +
        '  ipsec_tunnel[2]/ike/pre_shared_key: must not start with "0" [psk-leading-zero]\n' +
        '  ipsec_tunnel[1]/ipsec/tcp_mss_adjustment: TCP MSS adjustment in bytes must be 536–1460, found 20 [tcp-mss]\n',
    );
  });

  it('exit 1 for a missing file', async () => {
    const r = await cli('validate', '--config', path.join(tmp, 'absent.xml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('absent.xml: cannot be opened: ENOENT (no such file) [input-readable]');
  });

  it('JSON with several connections needs --connection, and lists the ids', async () => {
    const ambiguous = await cli('validate', '--config', TWO_JSON);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('vpn-ba2e34a8, vpn-05044757278685fd3');
    const chosen = await cli('validate', '--config', TWO_JSON, '--connection', 'vpn-05044757278685fd3');
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toMatch(/^OK vpn-05044757278685fd3: static routing .*; ikev1; from JSON\n$/);
  });

  it('validates the settings file and flags; settings problems exit 1', async () => {
    const ok = await cli('validate', '-c', BGP_XML, '-s', path.join(repoRoot, 'configs', 'settings.example.json'));
    expect(ok.code).toBe(0);
    const bad = await cli('validate', '-c', STATIC_XML, '--settings', tempFile('s.json', '{"interfaces": ["eth0", "eth0"]}'), '--advertise', '10.0.0.0/8');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'cgwd: invalid local settings (2 problems):\n' +
        '  --advertise: this connection uses static routing (NoBGPVPNConnection), so nothing is advertised; add the site prefixes as static routes of the VPN connection in AWS instead [advertise-needs-bgp]\n' +
        '  interfaces[1]: both tunnels would use interface "eth0" [interfaces-distinct]\n',
    );
  });

  it('exit 1 for an unreadable settings file', async () => {
    const r = await cli('validate', '-c', BGP_XML, '--settings', path.join(tmp, 'no-settings.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cgwd: invalid local settings \(1 problem\):\n  .*no-settings\.json: cannot be opened: ENOENT \(no such file\) \[input-readable\]\n$/);
  });

  it('the example files in configs/ are valid together', async () => {
    const r = await cli('validate', '-c', path.join(repoRoot, 'configs', 'vpn-config.example.xml'), '-s', path.join(repoRoot, 'configs', 'settings.example.json'));
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('usage errors exit 2', () => {
  it.each([
    ['missing --config', ['validate'], /required option '-c, --config <file>' not specified/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['unknown option', ['validate', '-c', 'x.xml', '--colour'], /unknown option '--colour'/],
    ['bad choice', ['show', '-c', 'x.xml', '--ike-version', 'ikev3'], /Allowed choices are ikev1, ikev2/],
    ['no command', [], /Usage: cgwd/],
  ])('%s', async (_name, argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('help and version', () => {
  it('cgwd --help explains the input and the exit codes', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const text of ['Site-to-Site VPN', 'validate', 'show', 'lab', 'up [options]', 'status [options]', 'negotiate [options]', 'CustomerGatewayConfiguration', 'describe-vpn-connections', 'Exit codes:', '0  success', '1  invalid AWS configuration', '2  usage error', '3  runtime failure']) {
      expect(r.stdout).toContain(text);
    }
  });

  it.each([
    ['up', ['--config <file>', '--static-route <prefixes>', '--role <role>', '--child-lifetime <seconds>']],
    ['negotiate', ['--config <file>', '--tunnel <which>', '--once', '--keylog <file>']],
    ['status', ['--control-socket <path>', '--json']],
  ] as const)('cgwd %s --help names its options', async (command, options) => {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: cgwd ${command} [options]`);
    for (const option of options) expect(r.stdout).toContain(option);
  });

  it.each(['validate', 'show'])('cgwd %s --help', async (command) => {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: cgwd ${command} [options]`);
    expect(r.stdout).toContain('--config <file>');
    expect(r.stdout).toContain('--advertise <prefixes>');
    expect(r.stdout).toContain('Exit codes:');
  });

  it('cgwd lab is registered', async () => {
    const r = await cli('lab', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: cgwd lab');
  });

  it('cgwd --version', async () => {
    const r = await cli('--version');
    expect(r).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });
});

describe('cgwd show', () => {
  it('prints per-tunnel tables with sources and the PSK masked', async () => {
    const r = await cli('show', '--config', BGP_XML, '--advertise', '10.10.0.0/16');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).toContain('VPN connection vpn-ba2e34a8');
    expect(out).toContain('Tunnel 1 (ipsec_tunnel[1]) on interface cgw-t1');
    expect(out).toContain('Tunnel 2 (ipsec_tunnel[2]) on interface cgw-t2');
    expect(out).toMatch(/AWS outside address\s+52\.27\.166\.152\s+XML/);
    expect(out).toMatch(/BGP ASN customer \/ AWS\s+65301 \/ 65401\s+XML/);
    expect(out).toMatch(/pre-shared key\s+\*{8} \(32 characters\)\s+XML/);
    expect(out).toMatch(/IKE encryption\s+aes128-cbc\s+XML minimum \*/);
    expect(out).toMatch(/replay window\s+1024 packets\s+AWS default/);
    expect(out).toMatch(/TCP MSS clamp\s+1379 bytes\s+XML/);
    expect(out).toMatch(/IKE version used\s+ikev2\s+cgwd default/);
    expect(out).toMatch(/advertised prefixes\s+10\.10\.0\.0\/16\s+command line/);
    expect(out).toContain("The XML only gives AWS's minimum settings");
    expect(out).not.toContain('QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV');
  });

  it('--json gives the effective configuration, with sources, masked PSK and settings', async () => {
    const r = await cli('show', '--config', REVERSED_JSON, '--json');
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as {
      connectionId: string;
      source: string;
      tunnels: { index: number; interface: string; ikeVersion: string; psk: unknown; aws: { outsideAddress: string }; ike: { encryption: string[]; lifetimeSeconds: number }; sources: Record<string, string> }[];
      settings: { ikeVersion: string; sources: Record<string, string> };
    };
    expect(view).toMatchObject({ connectionId: 'vpn-ba2e34a8', source: 'json', settings: { ikeVersion: 'ikev2' } });
    const [t1, t2] = view.tunnels;
    expect(t1).toMatchObject({ index: 1, interface: 'cgw-t1', ikeVersion: 'ikev2', psk: { masked: '********', length: 32 }, aws: { outsideAddress: '52.27.166.152' } });
    expect(t1?.sources['ike.encryption']).toBe('tunnel-options');
    expect(t1?.sources['ike.lifetimeSeconds']).toBe('xml');
    expect(t2).toMatchObject({ index: 2, ike: { encryption: ['aes256-gcm16'], lifetimeSeconds: 14400 } });
    expect(t2?.sources['ike.lifetimeSeconds']).toBe('tunnel-options');
    expect(view.settings.sources.ikeVersion).toBe('default');
    expect(r.stdout).not.toContain('QMP5tKPP5qk95Y1Eee9c_82');
    expect(r.stdout).not.toContain('explicit');
  });

  it('exit 1 with problems for an invalid file', async () => {
    const r = await cli('show', '--config', tempFile('show-bad.xml', readSample('sample-batfish-bgp-vgw.xml').replace('ipsec.1', 'ipsec.2')));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('vpn_connection_type: must be "ipsec.1", found "ipsec.2" [connection-type]');
  });
});
