/**
 * Reads an XML document defensively: no DTDs or entity expansion (checked on
 * the raw text before any parser sees it, and entity processing is off in the
 * parser too), well-formedness checked first, then a plain tree where every
 * element is a list so that duplicates are visible.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ProblemList } from './problems.js';
import { sourced, type Sourced } from './sourced.js';

const DTD_MARKUP = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;
const ATTRIBUTE_PREFIX = '@';
const TEXT_KEY = '#text';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTRIBUTE_PREFIX,
  textNodeName: TEXT_KEY,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
});

type RawNode = { readonly [key: string]: unknown };

function isRawNode(value: unknown): value is RawNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An element of the parsed document; `path` is relative to the root, e.g. "ipsec_tunnel[2]/ike". */
export class XmlElement {
  constructor(
    readonly name: string,
    readonly path: string,
    private readonly node: RawNode | string,
  ) {}

  #childPath(name: string): string {
    return this.path === '' ? name : `${this.path}/${name}`;
  }

  #rawChildren(name: string): unknown[] {
    if (typeof this.node === 'string') return [];
    const value = this.node[name];
    return Array.isArray(value) ? value : [];
  }

  #wrap(name: string, path: string, raw: unknown): XmlElement {
    return new XmlElement(name, path, isRawNode(raw) ? raw : typeof raw === 'string' ? raw : '');
  }

  /** Every child of this name, each with an indexed path (ipsec_tunnel[1], ipsec_tunnel[2], …). */
  all(name: string): XmlElement[] {
    return this.#rawChildren(name).map((raw, i) => this.#wrap(name, `${this.#childPath(name)}[${i + 1}]`, raw));
  }

  has(name: string): boolean {
    return this.#rawChildren(name).length > 0;
  }

  /** The single child of this name; reports it missing (when required) or repeated. */
  one(name: string, problems: ProblemList, required = true): XmlElement | undefined {
    const raws = this.#rawChildren(name);
    const path = this.#childPath(name);
    if (raws.length === 0) {
      if (required) problems.add(path, 'required', `required element is missing`);
      return undefined;
    }
    if (raws.length > 1) {
      problems.add(path, 'single-element', `must appear once, found ${raws.length}`);
      return undefined;
    }
    return this.#wrap(name, path, raws[0]);
  }

  /** Text content of this element; reports an element that has child elements instead. */
  text(problems: ProblemList): string | undefined {
    if (typeof this.node === 'string') return this.node;
    const childElements = Object.keys(this.node).filter((k) => !k.startsWith(ATTRIBUTE_PREFIX) && k !== TEXT_KEY);
    if (childElements.length > 0) {
      problems.add(this.path, 'text-value', `must hold a text value, found child elements`);
      return undefined;
    }
    const text = this.node[TEXT_KEY];
    return typeof text === 'string' ? text : '';
  }

  /** Text of the single child `name`, with its path; undefined (and a problem) when absent or malformed. */
  leaf(name: string, problems: ProblemList, required = true): Sourced<string> | undefined {
    const element = this.one(name, problems, required);
    if (!element) return undefined;
    const text = element.text(problems);
    return text === undefined ? undefined : sourced(text, element.path, 'xml');
  }

  attribute(name: string): string | undefined {
    if (typeof this.node === 'string') return undefined;
    const value = this.node[`${ATTRIBUTE_PREFIX}${name}`];
    return typeof value === 'string' ? value : undefined;
  }
}

/**
 * Parses `text` and returns its root element, or undefined after recording why
 * not. `documentPath` names the document in messages ("document", or the JSON
 * field it was embedded in).
 */
export function parseXmlDocument(text: string, documentPath: string, problems: ProblemList): XmlElement | undefined {
  const dtd = DTD_MARKUP.exec(text);
  if (dtd) {
    problems.add(
      documentPath,
      'xml-no-doctype',
      `<!${dtd[1]?.toUpperCase()}> is not allowed: AWS configurations never contain a DTD, and entity expansion is refused`,
    );
    return undefined;
  }
  // Whitespace before the XML declaration is not XML, but copied files often have it.
  const leading = /^\s*/.exec(text)?.[0] ?? '';
  const body = text.slice(leading.length);
  const validation = XMLValidator.validate(body, { allowBooleanAttributes: false });
  if (validation !== true) {
    const { col, msg } = validation.err;
    const line = validation.err.line + (leading.match(/\n/g)?.length ?? 0);
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    problems.add(documentPath, 'xml-well-formed', `not well-formed XML at ${where}: ${msg}`);
    return undefined;
  }
  let tree: unknown;
  try {
    tree = parser.parse(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'parser failure';
    problems.add(documentPath, 'xml-well-formed', `cannot be parsed as XML: ${reason}`);
    return undefined;
  }
  const roots = isRawNode(tree) ? Object.entries(tree) : [];
  const rootCount = roots.reduce((n, [, v]) => n + (Array.isArray(v) ? v.length : 1), 0);
  const first = roots[0];
  if (rootCount !== 1 || first === undefined) {
    problems.add(documentPath, 'xml-root', `must contain exactly one root element <vpn_connection>, found ${rootCount}`);
    return undefined;
  }
  const [rootName, rootList] = first;
  if (rootName !== 'vpn_connection') {
    problems.add(documentPath, 'xml-root', `root element must be <vpn_connection>, found <${rootName}>`);
    return undefined;
  }
  const root = Array.isArray(rootList) ? rootList[0] : undefined;
  return new XmlElement(rootName, '', isRawNode(root) ? root : '');
}
