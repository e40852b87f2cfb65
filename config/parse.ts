/**
 * YAML text → typed resources, keeping the line of every field so that each problem names file,
 * line, resource and field. Accepts several documents (`---`) and calicoctl's `kind: List`.
 */
import { createRequire } from 'node:module';
import type { LineCounter, Node as YamlNode } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { API_VERSION, RESOURCE_KINDS, type Resource, type ResourceKind } from './resources.js';
import { METADATA_FIELDS, SPEC_FIELDS, parseAsn, parseDuration, type FieldType } from './schema.js';
import { validateResource, validateSet } from './validate.js';

export interface ParseResult {
  readonly resources: Resource[];
  readonly errors: ConfigIssue[];
}

type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;

/**
 * The YAML library, loaded on first use: it is ~70 CommonJS files (~60 ms of CPU) that a daemon
 * whose documents are all compact JSON (etcd values, generated files) never needs.
 */
export function yamlLibrary(): YamlLib {
  return (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);
}

interface Converted {
  value: unknown;
  lines: Record<string, number>;
  dupes: { path: string; line: number }[];
}

function convert(node: YamlNode | null | undefined, lc: LineCounter): Converted {
  const { isAlias, isMap, isScalar, isSeq } = yamlLibrary();
  const lines: Record<string, number> = {};
  const dupes: { path: string; line: number }[] = [];
  const lineOf = (n: YamlNode | null | undefined, fallback: number) => (n?.range ? lc.linePos(n.range[0]).line : fallback);
  const walk = (n: YamlNode | null | undefined, path: string, line: number): unknown => {
    if (n === null || n === undefined) return null;
    if (isAlias(n)) return null;
    if (isScalar(n)) return n.value;
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      for (const pair of n.items) {
        const keyNode = pair.key as YamlNode | null;
        const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
        const p = path ? `${path}.${key}` : key;
        const kl = lineOf(keyNode, line);
        if (Object.hasOwn(out, key)) dupes.push({ path: p, line: kl });
        lines[p] = kl;
        out[key] = walk(pair.value as YamlNode | null, p, kl);
      }
      return out;
    }
    if (isSeq(n)) {
      return n.items.map((item, i) => {
        const p = `${path}.${i}`;
        const il = lineOf(item as YamlNode, line);
        lines[p] = il;
        return walk(item as YamlNode, p, il);
      });
    }
    return null;
  };
  const value = walk(node, '', node?.range ? lc.linePos(node.range[0]).line : 1);
  return { value, lines, dupes };
}

/** A document that is one line of JSON: the same shape as convert() gives, every field on that line. */
function convertJson(json: unknown, line: number): Converted {
  const lines: Record<string, number> = {};
  const walk = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) {
      return v.map((item, i) => {
        const p = `${path}.${i}`;
        lines[p] = line;
        return walk(item, p);
      });
    }
    if (typeof v === 'object' && v !== null) {
      // Assignment, not a literal copy, so that odd keys behave exactly as on the YAML path.
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        const p = path ? `${path}.${key}` : key;
        lines[p] = line;
        out[key] = walk(item, p);
      }
      return out;
    }
    return v;
  };
  return { value: walk(json, ''), lines, dupes: [] };
}

/**
 * Documents that are each a single line of compact JSON, as etcd values and JSON.stringify output
 * are, with their 1-based lines; undefined for anything else. JSON.parse is ~50× cheaper than the
 * YAML parser. Only a line that JSON.stringify reproduces byte for byte qualifies, so a duplicate
 * key, spacing, an escape written differently or a number YAML would read otherwise all take the
 * YAML path: both paths give the same resources and issues.
 */
function compactJsonDocuments(text: string): { json: unknown; line: number }[] | undefined {
  const docs: { json: unknown; line: number }[] = [];
  const lines = text.split('\n');
  let separated = true;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l === '') continue;
    if (l === '---') {
      separated = true;
      continue;
    }
    if (!separated || l.charCodeAt(0) !== 0x7b /* { */) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(l);
    } catch {
      return undefined;
    }
    if (JSON.stringify(json) !== l) return undefined;
    docs.push({ json, line: i + 1 });
    separated = false;
  }
  return docs.length > 0 ? docs : undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeType(t: FieldType): string {
  if (typeof t === 'string') return { asn: 'an AS number', duration: 'a duration', port: 'a port number (1-65535)', labels: 'a map of strings', any: 'anything', string: 'a string', number: 'a number', boolean: 'a boolean (true/false)' }[t];
  if ('enum' in t) return `one of ${t.enum.join(', ')}`;
  if ('list' in t) return 'a list';
  return 'a map';
}

/** Checks `value` against `type`; returns the value normalised (AS numbers as numbers) or pushes issues. */
function checkField(value: unknown, type: FieldType, path: string, report: (path: string, message: string) => void): unknown {
  if (value === null || value === undefined) return undefined;
  const bad = () => {
    report(path, `must be ${describeType(type)}`);
    return undefined;
  };
  if (typeof type === 'string') {
    switch (type) {
      case 'any':
        return value;
      case 'string':
        return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : bad();
      case 'number':
        return typeof value === 'number' && Number.isFinite(value) ? value : bad();
      case 'boolean':
        return typeof value === 'boolean' ? value : bad();
      case 'port':
        return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : bad();
      case 'asn':
        if (typeof value !== 'number' && typeof value !== 'string') return bad();
        try {
          return parseAsn(value);
        } catch {
          return bad();
        }
      case 'duration':
        if (typeof value !== 'number' && typeof value !== 'string') return bad();
        try {
          parseDuration(value);
          return value;
        } catch {
          return bad();
        }
      case 'labels':
        if (!isRecord(value)) return bad();
        for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') report(`${path}.${k}`, 'must be a string');
        return value;
    }
  }
  if ('enum' in type) return typeof value === 'string' && type.enum.includes(value) ? value : bad();
  if ('list' in type) {
    if (!Array.isArray(value)) return bad();
    return value.map((v, i) => checkField(v, type.list, `${path}.${i}`, report));
  }
  if (!isRecord(value)) return bad();
  return checkFields(value, type.fields, path, report);
}

function checkFields(obj: Record<string, unknown>, fields: Readonly<Record<string, FieldType>>, path: string, report: (path: string, message: string) => void): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const p = path ? `${path}.${k}` : k;
    // Own fields only: a key such as "constructor" must be reported, not looked up on the prototype.
    const t = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (!t) {
      report(p, `unknown field "${k}"`);
      continue;
    }
    const nv = checkField(v, t, p, report);
    if (nv !== undefined) out[k] = nv;
  }
  return out;
}

/** Parses one YAML text holding resources; never throws for bad input. */
export function parseResources(text: string, file: string): ParseResult {
  const resources: Resource[] = [];
  const errors: ConfigIssue[] = [];
  const json = compactJsonDocuments(text);
  if (json) {
    for (const d of json) addDocument(convertJson(d.json, d.line), d.line, file, resources, errors);
  } else {
    const { LineCounter, parseAllDocuments } = yamlLibrary();
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false });
    const docList = Array.isArray(docs) ? docs : [];
    for (const doc of docList) {
      const docLine = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          errors.push({ file, line: e.linePos?.[0].line ?? docLine, kind: '', name: '', field: '', message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '') });
        }
        continue;
      }
      if (doc.contents === null) continue; // empty document (e.g. trailing ---)
      addDocument(convert(doc.contents as YamlNode, lc), docLine, file, resources, errors);
    }
  }
  errors.push(...validateSet(resources));
  return { resources, errors };
}

/** One converted document: a resource, or calicoctl's `kind: List` of them. */
function addDocument(conv: Converted, docLine: number, file: string, resources: Resource[], errors: ConfigIssue[]): void {
  if (!isRecord(conv.value)) {
    errors.push({ file, line: docLine, kind: '', name: '', field: '', message: 'a resource must be a YAML mapping' });
    return;
  }
  // calicoctl writes `kind: List` or `kind: IPPoolList` (etc.) around several resources.
  if (typeof conv.value.kind === 'string' && conv.value.kind.endsWith('List')) {
    const items = conv.value.items;
    if (!Array.isArray(items)) {
      errors.push({ file, line: conv.lines.kind ?? docLine, kind: conv.value.kind, name: '', field: 'items', message: 'must be a list' });
      return;
    }
    items.forEach((item, i) => {
      const prefix = `items.${i}.`;
      const lines: Record<string, number> = {};
      for (const [p, l] of Object.entries(conv.lines)) if (p.startsWith(prefix)) lines[p.slice(prefix.length)] = l;
      const dupes = conv.dupes.filter((d) => d.path.startsWith(prefix)).map((d) => ({ path: d.path.slice(prefix.length), line: d.line }));
      toResource(item, lines, dupes, conv.lines[`items.${i}`] ?? docLine, file, resources, errors);
    });
    return;
  }
  toResource(conv.value, conv.lines, conv.dupes, docLine, file, resources, errors);
}

function toResource(value: unknown, lines: Record<string, number>, dupes: { path: string; line: number }[], line: number, file: string, out: Resource[], errors: ConfigIssue[]): void {
  if (!isRecord(value)) {
    errors.push({ file, line, kind: '', name: '', field: '', message: 'a resource must be a YAML mapping' });
    return;
  }
  const kind = typeof value.kind === 'string' ? value.kind : '';
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const resLine = lines.kind ?? line;
  const issues: ConfigIssue[] = [];
  const report = (field: string, message: string) => issues.push({ file, line: lines[field] ?? resLine, kind, name, field, message });
  for (const d of dupes) issues.push({ file, line: d.line, kind, name, field: d.path, message: `duplicate key "${d.path.slice(d.path.lastIndexOf('.') + 1)}"` });

  if (!RESOURCE_KINDS.includes(kind as ResourceKind)) {
    report('kind', kind ? `unknown kind "${kind}" (expected one of ${RESOURCE_KINDS.join(', ')})` : 'kind is required');
    errors.push(...issues);
    return;
  }
  if (value.apiVersion !== API_VERSION) report('apiVersion', `apiVersion must be ${API_VERSION}`);
  for (const k of Object.keys(value)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) report(k, `unknown field "${k}"`);
    if (k === 'status' && kind !== 'Node') report(k, `unknown field "${k}"`);
  }
  if (!name) report('metadata.name', 'metadata.name is required');
  const metadata = checkFields(meta, METADATA_FIELDS, 'metadata', report);
  const specIn = value.spec ?? {};
  const spec = isRecord(specIn) ? checkFields(specIn, SPEC_FIELDS[kind as ResourceKind], 'spec', report) : (report('spec', 'must be a map'), {});
  const resource = {
    apiVersion: API_VERSION,
    kind,
    metadata: { ...metadata, name },
    spec,
    ...(kind === 'Node' && isRecord(value.status) ? { status: value.status } : {}),
    origin: { file, line: resLine, fieldLines: lines },
  } as Resource;
  if (issues.length === 0) issues.push(...validateResource(resource));
  if (issues.length > 0) {
    errors.push(...issues);
    return;
  }
  out.push(resource);
}
