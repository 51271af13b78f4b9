/**
 * The whole user-visible surface — parse, validate and show (table and JSON),
 * with logging at trace level — captured and searched for the pre-shared keys.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, resolveSettings } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log/index.js';
import { fixturePath, readFixture, readSample } from '../config/helpers.js';
import { cli } from '../cli/run-cli.js';

const PSK1 = 'QMP5tKPP5qk95Y1Eee9c_82.MofNUJQV';
const PSK2 = 'tYrysT4iT0.CRwQnhiBbng.BahDc7YPq';
const tmp = mkdtempSync(path.join(tmpdir(), 'cgwd-secrets-'));

async function everyOutput(configFile: string): Promise<{ codes: number[]; text: string }> {
  const runs = await Promise.all([
    cli('--log-level', 'trace', 'validate', '--config', configFile),
    cli('--log-level', 'trace', 'show', '--config', configFile),
    cli('--log-level', 'trace', 'show', '--config', configFile, '--json'),
  ]);
  return { codes: runs.map((r) => r.code), text: runs.map((r) => r.stdout + r.stderr).join('\n') };
}

function logged(action: (log: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  action(createLogger({ level: 'trace', output: { write: (l: string) => lines.push(l) } }));
  return lines.join('');
}

describe('no pre-shared key in any output', () => {
  it('valid XML: validate, show, show --json and trace logs', async () => {
    const { codes, text } = await everyOutput(fixturePath('aws-samples/sample-batfish-bgp-vgw.xml'));
    expect(codes).toEqual([0, 0, 0]);
    expect(text).toContain('AWS configuration parsed'); // the trace log did run, with the whole configuration
    expect(text).toContain('<redacted>');
    expect(text).not.toContain(PSK1);
    expect(text).not.toContain(PSK2);
  });

  it('valid describe-vpn-connections JSON (PSKs in the XML and in TunnelOptions)', async () => {
    const { codes, text } = await everyOutput(fixturePath('describe-vpn-connections-reversed.json'));
    expect(codes).toEqual([0, 0, 0]);
    expect(text).not.toContain(PSK1);
    expect(text).not.toContain(PSK2);
  });

  it('an invalid PSK that fails validation is not echoed', async () => {
    const badPsk = `0${PSK2.slice(1)}`;
    const file = path.join(tmp, 'bad-psk.xml');
    writeFileSync(file, readSample('sample-batfish-bgp-vgw.xml').replace(PSK2, badPsk));
    const { codes, text } = await everyOutput(file);
    expect(codes).toEqual([1, 1, 1]);
    expect(text).toContain('ipsec_tunnel[2]/ike/pre_shared_key: must not start with "0" [psk-leading-zero]');
    expect(text).not.toContain(badPsk);
    expect(text).not.toContain(PSK1);
  });

  it('a JSON PreSharedKey that disagrees with the XML is not echoed', async () => {
    const otherPsk = 'Another.Key_For_Tunnel_One';
    const file = path.join(tmp, 'psk-mismatch.json');
    writeFileSync(file, readFixture('describe-vpn-connections-reversed.json').replace(`"${PSK1}"`, `"${otherPsk}"`));
    const { codes, text } = await everyOutput(file);
    expect(codes).toEqual([1, 1, 1]);
    expect(text).toContain('[json-xml-mismatch]');
    expect(text).not.toContain(otherPsk);
    expect(text).not.toContain(PSK1);
  });

  it('the parsed model, settings and errors logged directly', () => {
    const config = parseConfig(readSample('sample-batfish-bgp-vgw.xml'));
    const settings = resolveSettings(undefined, {}, config);
    let failure: unknown;
    try {
      parseConfig(readSample('sample-batfish-bgp-vgw.xml').replace(PSK1, `${PSK1}$`));
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ConfigError);
    const text = logged((log) => {
      log.info({ config, settings }, 'loaded');
      log.debug({ tunnel: config.tunnels[0] }, 'tunnel');
      log.trace('psk %s / %o / %j', config.tunnels[0].psk, config.tunnels[1], config);
      log.error({ err: failure }, 'invalid');
      log.child({ tunnel: config.tunnels[1] }).info('child');
    });
    expect(text).toContain('"msg":"child"');
    expect(text).not.toContain(PSK1);
    expect(text).not.toContain(PSK2);
  });
});
