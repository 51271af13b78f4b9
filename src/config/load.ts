/**
 * Entry points: text or file → validated VpnConfig, or a ConfigError listing
 * every problem. The format is detected from the first non-blank character:
 * "<" is the CustomerGatewayConfiguration XML, "{" the describe-vpn-connections JSON.
 */
import { buildVpnConfig } from './build-config.js';
import { readCustomerGatewayXml } from './customer-gateway-xml.js';
import { readDescribeVpnConnections } from './describe-vpn-connections.js';
import type { VpnConfig } from './model.js';
import { ProblemList } from './problems.js';
import { checkInputSize, readBoundedFile } from './read-input.js';
import { parseXmlDocument } from './xml-document.js';

export interface ParseOptions {
  /** Which connection to use when a describe-vpn-connections file holds several ("vpn-…"). */
  connectionId?: string;
}

export function loadConfig(file: string, opts: ParseOptions = {}): VpnConfig {
  const problems = new ProblemList();
  const text = readBoundedFile(file, problems);
  problems.throwIfAny();
  return parseConfig(text ?? '', opts);
}

export function parseConfig(text: string, opts: ParseOptions = {}): VpnConfig {
  const problems = new ProblemList();
  registerSecretsInRawText(text, problems);
  if (!checkInputSize(text, 'document', problems)) problems.throwIfAny();

  const body = text.replace(/^\uFEFF/, '');
  const firstChar = /\S/.exec(body)?.[0];
  let config: VpnConfig | undefined;
  if (firstChar === '<') config = fromXml(body, opts, problems);
  else if (firstChar === '{') config = fromJson(body, opts, problems);
  else {
    problems.add(
      'document',
      'input-format',
      firstChar === undefined
        ? 'is empty'
        : 'is neither the CustomerGatewayConfiguration XML (starting with "<") nor describe-vpn-connections JSON (starting with "{")',
    );
  }
  problems.throwIfAny();
  if (!config) throw new Error('internal: no configuration and no problem recorded');
  return config;
}

function fromXml(text: string, opts: ParseOptions, problems: ProblemList): VpnConfig | undefined {
  const root = parseXmlDocument(text, 'document', problems);
  if (!root) return undefined;
  const xml = readCustomerGatewayXml(root, problems);
  if (opts.connectionId !== undefined && xml.connectionId && xml.connectionId.value !== opts.connectionId) {
    problems.add('--connection', 'connection-select', `asks for ${opts.connectionId} but this file describes ${xml.connectionId.value}`);
  }
  return buildVpnConfig(xml, undefined, problems);
}

function fromJson(text: string, opts: ParseOptions, problems: ProblemList): VpnConfig | undefined {
  const json = readDescribeVpnConnections(text, opts.connectionId, problems);
  if (!json) return undefined;
  const root = parseXmlDocument(json.xml.value, json.xml.path, problems);
  if (!root) return undefined;
  return buildVpnConfig(readCustomerGatewayXml(root, problems), json, problems);
}

/** Anything that looks like a PSK in the raw text is scrubbed from messages, even if the document is malformed. */
function registerSecretsInRawText(text: string, problems: ProblemList): void {
  for (const m of text.matchAll(/<pre_shared_key>\s*([^<\s]*)\s*</g)) problems.addSecretCandidate(m[1] ?? '');
  for (const m of text.matchAll(/"PreSharedKey"\s*:\s*"((?:[^"\\]|\\.)*)"/g)) problems.addSecretCandidate(m[1] ?? '');
}
