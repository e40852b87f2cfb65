/**
 * The start path (dist/petrel.cjs, daemon/launcher.cjs) runs the bundle from the V8 code cache the
 * build made (issue 10, mesh: ~15 ms of CPU less per start), and starts just the same without it:
 * the cache missing, switched off, made for another build, or rejected by V8.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { intent } from '../rib/helpers.js';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, MAIN, PetrelProcess } from './petrel-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => ensureBuilt());

const CACHE = join(MAIN, '..', 'petrel-daemon.cjs.cache');

/** Starts the daemon from an intent file with `env`; returns the codeCache field of its start-up line. */
async function startWith(env: NodeJS.ProcessEnv, command?: readonly string[]): Promise<{ codeCache: unknown; daemon: PetrelProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-code-cache-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'intent.json');
  writeFileSync(file, JSON.stringify(intent({ ipv4Address: '127.0.0.1', routerId: '127.0.0.1', listenPort: port })));
  const daemon = new PetrelProcess(['--intent-file', file, '--listen', `127.0.0.1:${port}`, '--ctl-socket', join(dir, 'bird.ctl'), '--sink', 'mock', '--log-level', 'info'], env, command);
  cleanups.push(() => daemon.kill());
  const ready = await daemon.waitLog('control socket ready', (l) => l.msg === 'control socket ready');
  return { codeCache: ready.codeCache, daemon };
}

/** The build's cache with another header or other code after it, in a file of its own. */
function variantCache(make: (header: string, code: Buffer) => Buffer): string {
  const buf = readFileSync(CACHE);
  const nl = buf.indexOf(10);
  const dir = mkdtempSync(join(tmpdir(), 'petrel-code-cache-file-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cache');
  writeFileSync(path, make(buf.toString('latin1', 0, nl), buf.subarray(nl + 1)));
  return path;
}

describe('the daemon start path and its code cache', () => {
  it('runs from the cache the build made, and stops cleanly', async () => {
    const { codeCache, daemon } = await startWith({});
    expect(codeCache).toBe('accepted');
    daemon.signal('SIGTERM');
    expect(await daemon.waitExit()).toEqual({ code: 0, signal: null });
  });

  it('run as a program, the bin starts Node with one V8 worker thread (its shebang), from the cache', async () => {
    const bin = await startWith({}, [MAIN]);
    const plain = await startWith({});
    expect(bin.codeCache).toBe('accepted');
    expect(readFileSync(`/proc/${bin.daemon.pid}/cmdline`, 'utf8').split('\0')).toContain('--v8-pool-size=1');
    expect(readFileSync(`/proc/${plain.daemon.pid}/cmdline`, 'utf8').split('\0')).not.toContain('--v8-pool-size=1');
    // Node's default pool is four workers: three threads fewer.
    const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;
    expect(threads(bin.daemon.pid)).toBeLessThanOrEqual(threads(plain.daemon.pid) - 3);
  });

  it('starts without a cache: missing or switched off', async () => {
    expect((await startWith({ PETREL_CODE_CACHE: join(tmpdir(), 'petrel-no-such-cache') })).codeCache).toBe('missing');
    expect((await startWith({ PETREL_CODE_CACHE: 'off' })).codeCache).toBe('off');
  });

  it('does not use a cache made for another build of the bundle (V8 would only compare the length)', async () => {
    const other = variantCache((_header, code) => Buffer.concat([Buffer.from('petrel-code-cache 0123456789abcdef0123456789abcdef\n', 'latin1'), code]));
    expect((await startWith({ PETREL_CODE_CACHE: other })).codeCache).toBe('stale');
  });

  it('a cache written at exit by a daemon that ran (as the build trains it) is accepted by the next start', async () => {
    // Once started the daemon changes a V8 flag (feedback from a function's first call); the cache
    // is checked against the flags of the compile, so the one written at exit must be made with those.
    const dir = mkdtempSync(join(tmpdir(), 'petrel-code-cache-write-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'cache');
    const { daemon } = await startWith({ PETREL_CODE_CACHE: 'off', PETREL_CODE_CACHE_WRITE: out });
    daemon.signal('SIGTERM');
    expect(await daemon.waitExit()).toEqual({ code: 0, signal: null });
    expect((await startWith({ PETREL_CODE_CACHE: out })).codeCache).toBe('accepted');
  });

  it('starts when V8 rejects the cache (another Node version, other flags, damage)', async () => {
    const damaged = variantCache((header, code) => Buffer.concat([Buffer.from(`${header}\n`, 'latin1'), Buffer.alloc(code.length, 0x5a)]));
    expect((await startWith({ PETREL_CODE_CACHE: damaged })).codeCache).toBe('rejected');
  });
});
