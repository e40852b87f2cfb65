/** Where the built Petrel programs are, found from this file whether it runs from source or dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The repository (package) root: the nearest ancestor whose package.json is Petrel's. */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'petrel') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the petrel package root');
    dir = up;
  }
}

export const petrelctlJs = (): string => join(repoRoot(), 'dist', 'tools', 'petrelctl.js');
/** The daemon as one file (scripts/bundle.mjs, part of `npm run build`): far less start-up work than dist/daemon/main.js. */
export const daemonJs = (): string => join(repoRoot(), 'dist', 'petrel.mjs');
export const gobgpPumpJs = (): string => join(repoRoot(), 'dist', 'tools', 'lab', 'gobgp-pump.js');
