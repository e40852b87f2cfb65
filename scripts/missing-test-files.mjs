// Prints the test files (test/**/*.test.ts) that vitest's JSON reports have no result for: files
// whose worker never started (vitest's "Failed to start forks worker ... Timeout waiting for
// worker to respond", a pool start-up failure, not a test failure). scripts/test.sh runs them once more.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const paths = process.argv.length > 2 ? process.argv.slice(2) : [join(root, '.test-results/vitest.json')];
const ran = new Set(paths.flatMap((p) => JSON.parse(readFileSync(p, 'utf8')).testResults ?? []).map((r) => resolve(r.name)));
const files = readdirSync(join(root, 'test'), { recursive: true })
  .filter((f) => String(f).endsWith('.test.ts'))
  .map((f) => join(root, 'test', String(f)));
for (const f of files.filter((f) => !ran.has(f)).sort()) console.log(relative(root, f));
