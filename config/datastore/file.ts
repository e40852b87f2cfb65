/**
 * The file datastore: one YAML file, or a directory of them. Writes happen under a lock file and
 * replace whole files atomically (temp file, fsync, rename), so concurrent petrelctl and daemon
 * processes on one machine never lose an update and readers never see half a file.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat, unlink, writeFile } from '../fs-async.js';
import { basename, dirname, join } from 'node:path';
import { nodeCrypto } from '../crypto.js';
import { ConfigError, DatastoreError, formatIssue, type ConfigIssue } from '../errors.js';
import { parseResources, yamlLibrary, type ParseResult } from '../parse.js';
import { IPAM_KINDS, resourceKey, stripOrigin, type Resource } from '../resources.js';
import { validateSet } from '../validate.js';
import { acquireFileLock, processAlive } from './file-lock.js';
import type { Liveness, StoreBackend } from './types.js';

/** Serialises resources as calicoctl does: YAML documents separated by `---`. */
export function serializeResources(resources: readonly Resource[]): string {
  const { stringify } = yamlLibrary();
  return resources
    .map((r) => {
      const clean = stripOrigin(r);
      const { resourceVersion: _rv, ...metadata } = clean.metadata;
      return stringify({ ...clean, metadata });
    })
    .join('---\n');
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${nodeCrypto().randomUUID()}`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  // Make the rename itself durable; some filesystems refuse fsync on a directory, which is harmless.
  const dh = await open(dir, 'r').catch(() => undefined);
  await dh?.sync().catch(() => undefined);
  await dh?.close();
}

const isYamlName = (name: string) => /\.ya?ml$/.test(name) && !name.startsWith('.');

/**
 * Parsed documents by (file, text): a transaction usually changes one document (one IPAM block),
 * so re-reading a file re-parses only that document. The yaml parser is the cost (~2 ms per block).
 */
const docCache = new Map<string, ParseResult>();
const DOC_CACHE_LIMIT = 20_000;

function shiftIssue(i: ConfigIssue, by: number): ConfigIssue {
  return by === 0 ? i : { ...i, line: i.line + by };
}

function shiftResource(r: Resource, by: number): Resource {
  if (by === 0 || !r.origin) return r;
  const fieldLines: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.origin.fieldLines)) fieldLines[k] = v + by;
  return { ...r, origin: { file: r.origin.file, line: r.origin.line + by, fieldLines } } as Resource;
}

/** parseResources for a whole file, document by document with a cache; same result as parsing the text at once. */
export function parseFileCached(text: string, file: string): ParseResult {
  const lines = text.split('\n');
  const starts: number[] = [0];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (/^---[ \t]*(#.*)?$/.test(l)) starts.push(i);
    // A marker with content on its line, a document end or a directive: no safe split, parse whole.
    else if (/^(---[ \t]+\S|\.\.\.|%)/.test(l)) return parseResources(text, file);
  }
  const resources: Resource[] = [];
  const errors: ConfigIssue[] = [];
  starts.forEach((start, k) => {
    const end = starts[k + 1] ?? lines.length;
    // Keep the marker line out of the chunk; blank-pad nothing, shift lines by the chunk start.
    const from = k === 0 ? 0 : start + 1;
    const chunk = lines.slice(from, end).join('\n');
    if (chunk.trim() === '') return;
    const key = `${file}\0${chunk}`;
    let r = docCache.get(key);
    if (!r) {
      r = parseResources(chunk, file);
      if (docCache.size >= DOC_CACHE_LIMIT) docCache.clear();
      docCache.set(key, r);
    }
    resources.push(...r.resources.map((x) => shiftResource(x, from)));
    errors.push(...r.errors.map((i) => shiftIssue(i, from)));
  });
  if (starts.length > 1) {
    const seen = new Set(errors.map(formatIssue));
    errors.push(...validateSet(resources).filter((i) => !seen.has(formatIssue(i))));
  }
  return { resources, errors };
}

export function openFileStore(path: string): StoreBackend {
  let dirMode: boolean | undefined;
  const mode = async (): Promise<boolean> => {
    if (dirMode !== undefined) return dirMode;
    const st = await stat(path).catch(() => undefined);
    dirMode = st ? st.isDirectory() : path.endsWith('/');
    return dirMode;
  };
  const base = async () => ((await mode()) ? join(path, '.petrel') : path);
  const lockPath = async () => `${await base()}.lock`;
  const liveDir = async () => `${await base()}.live`;

  const readFiles = async (): Promise<{ file: string; text: string }[]> => {
    if (await mode()) {
      const names = (await readdir(path).catch(() => [] as string[])).filter(isYamlName).sort();
      return Promise.all(names.map(async (n) => ({ file: join(path, n), text: await readFile(join(path, n), 'utf8') })));
    }
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return text === undefined ? [] : [{ file: path, text }];
  };

  // The last read, returned again (the same objects) while every file holds the same text: the
  // datastore's watch starts with a read of its own just after the daemon's first one, and the
  // datastore then skips the unchanged read (no copy, no comparison, no new snapshot).
  let last: { files: { file: string; text: string }[]; result: { resources: Resource[]; issues: ConfigIssue[] } } | undefined;
  const read = async (): Promise<{ resources: Resource[]; issues: ConfigIssue[] }> => {
    const files = await readFiles();
    if (last && last.files.length === files.length && files.every((f, i) => f.file === last!.files[i]!.file && f.text === last!.files[i]!.text)) return last.result;
    const resources: Resource[] = [];
    const issues: ConfigIssue[] = [];
    for (const f of files) {
      const r = parseFileCached(f.text, f.file);
      resources.push(...r.resources);
      issues.push(...r.errors);
    }
    if (files.length > 1) {
      const seen = new Set(issues.map(formatIssue));
      issues.push(...validateSet(resources).filter((i) => !seen.has(formatIssue(i))));
    }
    last = { files, result: { resources, issues } };
    return last.result;
  };

  const defaultFile = async (r: Resource) => ((await mode()) ? join(path, IPAM_KINDS.has(r.kind) ? 'ipam.yaml' : 'resources.yaml') : path);

  const backend: StoreBackend = {
    url: `file:${path}`,
    read,
    async transact(fn) {
      const isDir = await mode();
      if (isDir) await mkdir(path, { recursive: true });
      const release = await acquireFileLock(await lockPath());
      try {
        const { resources, issues } = await read();
        if (issues.length > 0) throw new ConfigError(issues);
        const { puts, deletes, result } = fn(resources);
        if (puts.length === 0 && deletes.length === 0) return result;
        // Current content per file, in file order; puts replace in place or append to their file.
        const byFile = new Map<string, Resource[]>();
        for (const r of resources) {
          const f = r.origin?.file ?? path;
          byFile.set(f, [...(byFile.get(f) ?? []), r]);
        }
        const fileOf = new Map(resources.map((r) => [resourceKey(r), r.origin?.file ?? path]));
        const dirty = new Set<string>();
        for (const d of deletes) {
          const f = fileOf.get(resourceKey(d));
          if (!f) continue;
          byFile.set(f, (byFile.get(f) ?? []).filter((r) => resourceKey(r) !== resourceKey(d)));
          dirty.add(f);
        }
        for (const p of puts) {
          const key = resourceKey(p);
          const f = fileOf.get(key) ?? (await defaultFile(p));
          const list = byFile.get(f) ?? [];
          const at = list.findIndex((r) => resourceKey(r) === key);
          if (at >= 0) list[at] = p;
          else list.push(p);
          byFile.set(f, list);
          dirty.add(f);
        }
        for (const f of dirty) await writeAtomic(f, serializeResources(byFile.get(f) ?? []));
        return result;
      } finally {
        await release();
      }
    },
    async watchRaw(onChange) {
      const isDir = await mode();
      const dir = isDir ? path : dirname(path);
      const name = basename(path);
      let watcher: FSWatcher;
      try {
        watcher = fsWatch(dir, { persistent: false }, (_event, filename) => {
        const f = filename?.toString();
          if (f === undefined || f === null || (isDir ? isYamlName(f) : f === name)) onChange();
        });
      } catch (e) {
        throw new DatastoreError(`cannot watch ${dir} for changes to the datastore: ${(e as Error).message}`);
      }
      watcher.on('error', () => onChange());
      return async () => watcher.close();
    },
    async registerLiveness(node): Promise<Liveness> {
      const dir = await liveDir();
      await mkdir(dir, { recursive: true });
      const file = join(dir, node);
      await writeFile(file, String(process.pid));
      return { close: () => unlink(file).catch(() => undefined) };
    },
    async liveNodes() {
      const dir = await liveDir();
      const names = await readdir(dir).catch(() => [] as string[]);
      const out: string[] = [];
      for (const n of names.sort()) {
        const pid = Number(await readFile(join(dir, n), 'utf8').catch(() => '0'));
        if (pid > 0 && processAlive(pid)) out.push(n);
      }
      return out;
    },
    async close() {},
  };
  return backend;
}
