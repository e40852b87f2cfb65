/**
 * YAML text → typed resources, keeping the line of every field so that each problem names file,
 * line, resource and field. Accepts several documents (`---`) and calicoctl's `kind: List`.
 */
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isAlias, type Node as YamlNode } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { API_VERSION, RESOURCE_KINDS, type Resource, type ResourceKind } from './resources.js';
import { METADATA_FIELDS, SPEC_FIELDS, parseAsn, parseDuration, type FieldType } from './schema.js';
import { validateResource, validateSet } from './validate.js';

export interface ParseResult {
  readonly resources: Resource[];
  readonly errors: ConfigIssue[];
}

interface Converted {
  value: unknown;
  lines: Record<string, number>;
  dupes: { path: string; line: number }[];
}

function convert(node: YamlNode | null | undefined, lc: LineCounter): Converted {
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
    const t = fields[k];
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
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false });
  const resources: Resource[] = [];
  const errors: ConfigIssue[] = [];
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
    const conv = convert(doc.contents as YamlNode, lc);
    if (!isRecord(conv.value)) {
      errors.push({ file, line: docLine, kind: '', name: '', field: '', message: 'a resource must be a YAML mapping' });
      continue;
    }
    // calicoctl writes `kind: List` or `kind: IPPoolList` (etc.) around several resources.
    if (typeof conv.value.kind === 'string' && conv.value.kind.endsWith('List')) {
      const items = conv.value.items;
      if (!Array.isArray(items)) {
        errors.push({ file, line: conv.lines.kind ?? docLine, kind: conv.value.kind, name: '', field: 'items', message: 'must be a list' });
        continue;
      }
      items.forEach((item, i) => {
        const prefix = `items.${i}.`;
        const lines: Record<string, number> = {};
        for (const [p, l] of Object.entries(conv.lines)) if (p.startsWith(prefix)) lines[p.slice(prefix.length)] = l;
        const dupes = conv.dupes.filter((d) => d.path.startsWith(prefix)).map((d) => ({ path: d.path.slice(prefix.length), line: d.line }));
        toResource(item, lines, dupes, conv.lines[`items.${i}`] ?? docLine, file, resources, errors);
      });
      continue;
    }
    toResource(conv.value, conv.lines, conv.dupes, docLine, file, resources, errors);
  }
  errors.push(...validateSet(resources));
  return { resources, errors };
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
