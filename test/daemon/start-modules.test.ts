/**
 * What the daemon's start path loads of Node's own modules (issue 10, mesh: thirty daemons start at
 * once on two cores, and each Node module a start loads costs every one of them). The file datastore
 * and the control socket use fs callbacks, not node:fs/promises (which loads Node's FileHandle and
 * readline code), and the start-up line's clock is process.uptime(), not performance.now() (which
 * loads node:perf_hooks); the bundle gives pino and sonic-boom stand-ins for node:assert and
 * node:worker_threads (scripts/bundle-shims), which they load but the daemon never uses. The list is
 * taken at exit, after a start (which logs) and a clean stop, by a preloaded module; file-datastore
 * writes (the lock, fsync'd temp files) still load node:fs/promises when they happen, tested with the
 * datastore.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, MAIN, PetrelProcess } from './petrel-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => ensureBuilt());

describe('the daemon start path', () => {
  it('starts from a file datastore, logs, and stops without loading node:fs/promises, node:perf_hooks, node:assert or node:worker_threads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'petrel-start-modules-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const datastore = join(dir, 'cluster.yaml');
    writeFileSync(
      datastore,
      [
        `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { listenPort: ${port}, logSeverityScreen: Info }\n`,
        'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: node-a }\nspec: { bgp: { ipv4Address: 127.0.0.1/8 } }\n',
        'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: node-b }\nspec: { bgp: { ipv4Address: 127.0.0.2/8 } }\n',
      ].join('---\n'),
    );
    const list = join(dir, 'modules.json');
    const preload = join(dir, 'record-modules.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));\n`);
    const daemon = new PetrelProcess(
      ['--node', 'node-a', '--listen', `127.0.0.1:${port}`, '--ctl-socket', join(dir, 'bird.ctl'), '--sink', 'mock'],
      { PETREL_DATASTORE: `file:${datastore}` },
      [process.execPath, '--require', preload, MAIN],
    );
    cleanups.push(() => daemon.kill());
    const ready = await daemon.waitLog('control socket ready', (l) => l.msg === 'control socket ready');
    expect(ready.startupMs).toEqual(expect.any(Number));
    expect(ready.startupMs as number).toBeGreaterThan(0);
    daemon.signal('SIGTERM');
    expect(await daemon.waitExit()).toEqual({ code: 0, signal: null });
    const loaded = JSON.parse(readFileSync(list, 'utf8')) as string[];
    expect(loaded).toContain('NativeModule net');
    expect(loaded).not.toContain('NativeModule internal/fs/promises');
    expect(loaded).not.toContain('NativeModule perf_hooks');
    expect(loaded).not.toContain('NativeModule assert');
    expect(loaded).not.toContain('NativeModule worker_threads');
  });
});
