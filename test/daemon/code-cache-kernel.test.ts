/**
 * The build trains the code cache with the kernel sink (scripts/bundle.mjs), so the cache holds the
 * start-up code of a real daemon's sink too (the graceful-restart dump, the own block's route, the
 * helper's replies; issue 10, mesh). It does so harmlessly by running the netlink helper in a user
 * and network namespace of its own (`unshare -rn`): the routes go to a throwaway table. This runs
 * that set-up: the daemon starts with the kernel sink through such a helper, programs its block
 * there and not in this namespace, and the cache it writes at exit is accepted by the next start.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const BLOCK = '10.254.77.0/26';
const HELPER = join(MAIN, '..', 'petrel-netlink');

describe('a code cache trained with the kernel sink', () => {
  it('comes from a daemon whose netlink helper has a namespace of its own, and is accepted', async () => {
    expect(spawnSync('unshare', ['-rn', 'true']).status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'petrel-code-cache-kernel-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const wrapper = join(dir, 'petrel-netlink-isolated');
    writeFileSync(wrapper, `#!/bin/sh\nexec unshare -rn sh -c 'ip link set lo up 2>/dev/null; exec "$0" "$@"' ${JSON.stringify(HELPER)} "$@"\n`, { mode: 0o755 });
    const port = await freePort();
    const file = join(dir, 'intent.json');
    writeFileSync(file, JSON.stringify(intent({ ipv4Address: '127.0.0.1', routerId: '127.0.0.1', listenPort: port, ownBlocks: [BLOCK] })));
    const out = join(dir, 'cache');
    const start = (env: NodeJS.ProcessEnv) => {
      const d = new PetrelProcess(['--intent-file', file, '--listen', `127.0.0.1:${port}`, '--ctl-socket', join(dir, 'bird.ctl'), '--sink', 'kernel', '--log-level', 'info'], { PETREL_NETLINK_HELPER: wrapper, ...env });
      cleanups.push(() => d.kill());
      return d;
    };
    const trained = start({ PETREL_CODE_CACHE: 'off', PETREL_CODE_CACHE_WRITE: out });
    const reconciled = await trained.waitLog('kernel routes reconciled', (l) => l.msg === 'kernel routes reconciled');
    expect(reconciled.failures).toBe(0);
    await trained.waitLog('control socket ready', (l) => l.msg === 'control socket ready');
    // The block went to the helper's own table, not to this namespace's.
    expect(spawnSync('ip', ['route', 'show', BLOCK], { encoding: 'utf8' }).stdout.trim()).toBe('');
    trained.signal('SIGTERM');
    expect(await trained.waitExit()).toEqual({ code: 0, signal: null });
    const next = start({ PETREL_CODE_CACHE: out });
    const ready = await next.waitLog('control socket ready', (l) => l.msg === 'control socket ready');
    expect(ready.codeCache).toBe('accepted');
  });
});
