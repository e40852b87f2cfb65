/**
 * petrelctl get|apply|delete: Calico v3 resources in the datastore, printed as calicoctl prints them
 * (Go tabwriter columns, `(64512)` for an inherited AS number, yaml/json lists).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import {
  API_VERSION, ConfigError, kindFromName, openDatastore, parseAsn, parseResources, resolveDatastoreUrl, stripOrigin,
  type BGPConfiguration, type BGPPeer, type CalicoNode, type IPPool, type Resource, type ResourceKind,
} from '../../config/index.js';
import { tabwriter } from './table.js';

type Format = 'ps' | 'wide' | 'yaml' | 'json';

const dash = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : String(v));

/** The table columns and cells for one kind (narrow and wide), as calicoctl's resource managers define them. */
function columns(kind: ResourceKind, wide: boolean, all: readonly Resource[]): { head: string[]; cells: (r: Resource) => string[] } {
  switch (kind) {
    case 'IPPool':
      return wide
        ? {
            head: ['NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'DISABLEBGPEXPORT', 'SELECTOR'],
            cells: (r) => {
              const s = (r as IPPool).spec;
              return [r.metadata.name, s.cidr, String(s.natOutgoing ?? false), s.ipipMode ?? 'Never', s.vxlanMode ?? 'Never', String(s.disabled ?? false), String(s.disableBGPExport ?? false), s.nodeSelector ?? 'all()'];
            },
          }
        : { head: ['NAME', 'CIDR', 'SELECTOR'], cells: (r) => [r.metadata.name, (r as IPPool).spec.cidr, (r as IPPool).spec.nodeSelector ?? 'all()'] };
    case 'Node': {
      if (!wide) return { head: ['NAME'], cells: (r) => [r.metadata.name] };
      const def = all.find((x): x is BGPConfiguration => x.kind === 'BGPConfiguration' && x.metadata.name === 'default');
      let inherited = '64512';
      try {
        if (def?.spec.asNumber !== undefined) inherited = String(parseAsn(def.spec.asNumber));
      } catch {
        inherited = 'unknown';
      }
      return {
        head: ['NAME', 'ASN', 'IPV4', 'IPV6'],
        cells: (r) => {
          const bgp = (r as CalicoNode).spec.bgp;
          const asn = bgp?.asNumber !== undefined ? String(parseAsn(bgp.asNumber)) : bgp ? `(${inherited})` : '';
          return [r.metadata.name, asn, bgp?.ipv4Address ?? '', bgp?.ipv6Address ?? ''];
        },
      };
    }
    case 'BGPPeer':
      return {
        head: ['NAME', 'PEERIP', 'NODE', 'ASN'],
        cells: (r) => {
          const s = (r as BGPPeer).spec;
          return [r.metadata.name, s.peerIP ?? '', s.node ?? s.nodeSelector ?? '(global)', String(s.asNumber !== undefined ? parseAsn(s.asNumber) : 0)];
        },
      };
    case 'BGPConfiguration':
      return {
        head: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
        cells: (r) => {
          const s = (r as BGPConfiguration).spec;
          return [r.metadata.name, dash(s.logSeverityScreen), dash(s.nodeToNodeMeshEnabled), dash(s.asNumber)];
        },
      };
    default:
      return { head: ['NAME'], cells: (r) => [r.metadata.name] };
  }
}

/** Renders `get` output: a tabwriter table followed by a blank line, or a calicoctl-style yaml/json list. */
export function renderGet(kind: ResourceKind, items: readonly Resource[], format: Format, all: readonly Resource[] = items, single = false): string {
  if (format === 'yaml' || format === 'json') {
    const clean = items.map((r) => stripOrigin(r));
    const doc = single && clean.length === 1 ? clean[0] : { apiVersion: API_VERSION, items: clean, kind: `${kind}List`, metadata: {} };
    return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc);
  }
  const { head, cells } = columns(kind, format === 'wide', all);
  const lines = [head, ...items.map(cells)].map((row) => row.join('\t'));
  return `${tabwriter(`${lines.join('\n')}\n`)}\n`;
}

function parseFormat(text: string): Format {
  if (text === 'ps' || text === 'wide' || text === 'yaml' || text === 'json') return text;
  throw new Error(`unrecognised output format '${text}' (use wide, yaml or json)`);
}

function resourcesSummary(verb: string, keys: readonly string[]): string {
  const kinds = new Set(keys.map((k) => k.slice(0, k.indexOf('/'))));
  return kinds.size === 1 ? `Successfully ${verb} ${keys.length} '${[...kinds][0]}' resource(s)\n` : `Successfully ${verb} ${keys.length} resource(s)\n`;
}

/** Reads and validates a resource file; a ConfigError names file, line, resource and field. */
export async function loadResourceFile(file: string): Promise<Resource[]> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  const r = parseResources(text, file);
  if (r.errors.length > 0) throw new ConfigError(r.errors);
  return r.resources;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function storeOf(cmd: Command) {
  return openDatastore(resolveDatastoreUrl(cmd.optsWithGlobals<{ datastore?: string }>().datastore));
}

export function register(program: Command): void {
  program
    .command('get')
    .description('list resources: ippools, nodes, bgppeers, bgpconfigurations (and ipamblocks, blockaffinities)')
    .argument('<kind>', 'resource kind (plural or singular)')
    .argument('[name]', 'one resource by name')
    .option('-o, --output <format>', 'ps (default), wide, yaml or json', 'ps')
    .action(async (kindText: string, name: string | undefined, o: { output: string }, cmd: Command) => {
      const kind = kindFromName(kindText);
      if (!kind) throw new Error(`unknown resource type '${kindText}'`);
      const format = parseFormat(o.output);
      const ds = storeOf(cmd);
      try {
        const all = await ds.list();
        const items = all.filter((r) => r.kind === kind && (name === undefined || r.metadata.name === name));
        if (name !== undefined && items.length === 0) throw new Error(`resource does not exist: ${kind}(${name})`);
        process.stdout.write(renderGet(kind, items, format, all, name !== undefined));
      } finally {
        await ds.close();
      }
    });

  program
    .command('apply')
    .description('create or replace the resources in a YAML file (validated first)')
    .requiredOption('-f, --filename <file>', "resource file ('-' for stdin)")
    .action(async (o: { filename: string }, cmd: Command) => {
      const resources = await loadResourceFile(o.filename);
      const ds = storeOf(cmd);
      try {
        const r = await ds.apply(resources);
        process.stdout.write(resourcesSummary('applied', [...r.created, ...r.updated]));
      } finally {
        await ds.close();
      }
    });

  program
    .command('delete')
    .description('delete the resources named in a YAML file, or one resource by kind and name')
    .argument('[kind]', 'resource kind, with a name')
    .argument('[name]', 'resource name')
    .option('-f, --filename <file>', "resource file ('-' for stdin)")
    .action(async (kindText: string | undefined, name: string | undefined, o: { filename?: string }, cmd: Command) => {
      let refs: { kind: ResourceKind; name: string }[];
      if (o.filename) refs = (await loadResourceFile(o.filename)).map((r) => ({ kind: r.kind, name: r.metadata.name }));
      else {
        const kind = kindText ? kindFromName(kindText) : undefined;
        if (!kind || !name) throw new Error('give -f <file>, or a kind and a name');
        refs = [{ kind, name }];
      }
      const ds = storeOf(cmd);
      try {
        const r = await ds.delete(refs);
        if (r.deleted.length > 0) process.stdout.write(resourcesSummary('deleted', r.deleted));
        if (r.missing.length > 0) throw new Error(r.missing.map((m) => `resource does not exist: ${m.replace('/', '(')})`).join('\n'));
      } finally {
        await ds.close();
      }
    });
}
