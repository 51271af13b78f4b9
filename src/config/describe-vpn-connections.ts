/**
 * The JSON that `aws ec2 describe-vpn-connections` prints ({"VpnConnections":
 * [...]}), the `{"VpnConnection": {...}}` of create-vpn-connection, or one bare
 * VpnConnection object → the selected connection's XML text, identifiers and
 * TunnelOptions entries. Paths in messages are jq style: VpnConnections[0].Options.
 */
import {
  expectArray,
  expectBoolean,
  expectString,
  isJsonObject,
  joinPath,
  member,
  type JsonObject,
} from './json-values.js';
import type { ProblemList } from './problems.js';
import { sourced, type Sourced } from './sourced.js';
import { readTunnelOptions, type TunnelOptionsEntry } from './tunnel-options.js';

export interface JsonConnection {
  readonly path: string;
  xml: Sourced<string>;
  connectionId?: Sourced<string>;
  customerGatewayId?: Sourced<string>;
  vpnGatewayId?: Sourced<string>;
  transitGatewayId?: Sourced<string>;
  staticRoutesOnly?: Sourced<boolean>;
  tunnelOptions: TunnelOptionsEntry[];
}

interface Candidate {
  readonly path: string;
  readonly object: JsonObject;
  readonly id: string | undefined;
}

export function readDescribeVpnConnections(
  text: string,
  selector: string | undefined,
  problems: ProblemList,
): JsonConnection | undefined {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    problems.add('document', 'json-well-formed', `not valid JSON${jsonErrorLocation(text, error)}`);
    return undefined;
  }
  const candidates = findConnections(document, problems);
  if (!candidates) return undefined;
  const chosen = selectConnection(candidates, selector, problems);
  return chosen ? readConnection(chosen, problems) : undefined;
}

function findConnections(document: unknown, problems: ProblemList): Candidate[] | undefined {
  const candidate = (path: string, value: unknown): Candidate | undefined => {
    if (!isJsonObject(value)) {
      problems.add(path === '' ? 'document' : path, 'json-shape', 'must be a VpnConnection object');
      return undefined;
    }
    const id = value['VpnConnectionId'];
    return { path, object: value, id: typeof id === 'string' ? id : undefined };
  };
  if (isJsonObject(document)) {
    const list = document['VpnConnections'];
    if (list !== undefined) {
      const items = expectArray(list, 'VpnConnections', problems);
      if (!items) return undefined;
      const found = items.map((item, i) => candidate(joinPath('VpnConnections', i), item));
      return found.every((c) => c !== undefined) ? found : undefined;
    }
    if (document['VpnConnection'] !== undefined) {
      const one = candidate('VpnConnection', document['VpnConnection']);
      return one ? [one] : undefined;
    }
    if ('CustomerGatewayConfiguration' in document || 'VpnConnectionId' in document) {
      const one = candidate('', document);
      return one ? [one] : undefined;
    }
  }
  problems.add(
    'document',
    'json-shape',
    'expected the output of "aws ec2 describe-vpn-connections" ({"VpnConnections": [...]}) or one VpnConnection object',
  );
  return undefined;
}

function selectConnection(candidates: Candidate[], selector: string | undefined, problems: ProblemList): Candidate | undefined {
  const ids = candidates.map((c) => c.id ?? `(no VpnConnectionId at ${c.path || 'top level'})`).join(', ');
  if (selector !== undefined) {
    const matches = candidates.filter((c) => c.id === selector);
    if (matches.length === 1) return matches[0];
    const why = matches.length === 0 ? `no VPN connection ${selector} in this file` : `${matches.length} VPN connections have the id ${selector}`;
    problems.add('--connection', 'connection-select', `${why}; the file holds: ${ids || 'none'}`);
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) {
    problems.add('VpnConnections', 'connection-select', 'holds no VPN connection');
    return undefined;
  }
  problems.add(
    'VpnConnections',
    'connection-select',
    `holds ${candidates.length} VPN connections (${ids}); choose one with --connection <vpn-id>`,
  );
  return undefined;
}

function readConnection(candidate: Candidate, problems: ProblemList): JsonConnection | undefined {
  const { object, path } = candidate;
  const text = (name: string): Sourced<string> | undefined => {
    const m = member(object, path, [name]);
    if (!m) return undefined;
    const value = expectString(m.value, m.path, problems);
    return value === undefined ? undefined : sourced(value, m.path, 'tunnel-options');
  };
  const xml = text('CustomerGatewayConfiguration');
  if (!xml) {
    const state = typeof object['State'] === 'string' ? ` (State is "${object['State']}")` : '';
    problems.add(
      joinPath(path, 'CustomerGatewayConfiguration'),
      'required',
      `is missing${state}; AWS includes it only while the connection is pending or available`,
    );
    return undefined;
  }
  const connection: JsonConnection = {
    path,
    xml,
    connectionId: text('VpnConnectionId'),
    customerGatewayId: text('CustomerGatewayId'),
    vpnGatewayId: text('VpnGatewayId'),
    transitGatewayId: text('TransitGatewayId'),
    tunnelOptions: [],
  };
  const options = member(object, path, ['Options']);
  if (options) {
    if (!isJsonObject(options.value)) {
      problems.add(options.path, 'json-shape', 'must be an object');
      return connection;
    }
    const staticOnly = member(options.value, options.path, ['StaticRoutesOnly']);
    if (staticOnly) {
      const value = expectBoolean(staticOnly.value, staticOnly.path, problems);
      if (value !== undefined) connection.staticRoutesOnly = sourced(value, staticOnly.path, 'tunnel-options');
    }
    const list = member(options.value, options.path, ['TunnelOptions']);
    const items = list ? expectArray(list.value, list.path, problems) : undefined;
    if (list && items) {
      items.forEach((item, i) => {
        const entry = readTunnelOptions(item, joinPath(list.path, i), problems);
        if (entry) connection.tunnelOptions.push(entry);
      });
    }
  }
  return connection;
}

/** " at line L, column C" from a JSON.parse error, without quoting the input (it may hold a PSK). */
function jsonErrorLocation(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const position = /position (\d+)/.exec(message);
  if (!position) return '';
  const offset = Number(position[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}
