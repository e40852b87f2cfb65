/**
 * Before any test file runs: the tests launch the daemon from its bundle (dist/petrel-daemon.cjs, made by
 * scripts/bundle.mjs), so make sure the bundle is not older than the sources. `npm test` builds it
 * anyway; this covers `npx vitest run <dir>` after an edit, which would otherwise test a stale daemon.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const SOURCES = ['daemon', 'proto', 'config'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.cjs')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const bundle = join(root, 'dist', 'petrel-daemon.cjs');
  const sources = Math.max(...SOURCES.map((d) => newestSource(join(root, d))));
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('test setup: bundling the daemon (scripts/bundle.mjs) failed');
}
