/**
 * The V8 flags the start path (daemon/launcher.cjs) sets once the daemon has started: feedback from
 * a function's first call, and TurboFan later (--interrupt-budget four times V8's), so the code a
 * full mesh's sessions run a few dozen times is not compiled for nothing (issue 10, mesh). Each has
 * its switch; the start-up line says which are set. That the code cache the build trains with them
 * set is still accepted is code-cache.test.ts's "written at exit" test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { intent } from '../rib/helpers.js';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, PetrelProcess } from './petrel-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => ensureBuilt());

/** Starts the daemon with `env`; returns the v8Flags and codeCache fields of its start-up line. */
async function startWith(env: NodeJS.ProcessEnv): Promise<{ v8Flags: unknown; codeCache: unknown; daemon: PetrelProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-runtime-flags-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'intent.json');
  writeFileSync(file, JSON.stringify(intent({ ipv4Address: '127.0.0.1', routerId: '127.0.0.1', listenPort: port })));
  const daemon = new PetrelProcess(['--intent-file', file, '--listen', `127.0.0.1:${port}`, '--ctl-socket', join(dir, 'bird.ctl'), '--sink', 'mock', '--log-level', 'info'], env);
  cleanups.push(() => daemon.kill());
  const ready = await daemon.waitLog('control socket ready', (l) => l.msg === 'control socket ready');
  return { v8Flags: ready.v8Flags, codeCache: ready.codeCache, daemon };
}

describe('V8 flags for the session phase', () => {
  it('by default: eager feedback and four times V8 interrupt budget, set after the cached compile', async () => {
    const { v8Flags, codeCache, daemon } = await startWith({});
    expect(v8Flags).toEqual(['--no-lazy-feedback-allocation', '--interrupt-budget=270336']);
    expect(codeCache).toBe('accepted');
    // The flags are set once started: the daemon goes on serving and stops cleanly.
    daemon.signal('SIGTERM');
    expect(await daemon.waitExit()).toEqual({ code: 0, signal: null });
  });

  it('PETREL_INTERRUPT_BUDGET=off leaves V8 its own budget; a number of bytes replaces ours', async () => {
    expect((await startWith({ PETREL_INTERRUPT_BUDGET: 'off' })).v8Flags).toEqual(['--no-lazy-feedback-allocation']);
    expect((await startWith({ PETREL_INTERRUPT_BUDGET: '540672', PETREL_EAGER_FEEDBACK: 'off' })).v8Flags).toEqual(['--interrupt-budget=540672']);
  });

  it('a PETREL_INTERRUPT_BUDGET that is not a number of bytes is reported and the default used', async () => {
    for (const bad of ['-5', '12k', '0', '9999999999', '--no-opt']) {
      const { v8Flags, daemon } = await startWith({ PETREL_INTERRUPT_BUDGET: bad });
      expect(v8Flags).toEqual(['--no-lazy-feedback-allocation', '--interrupt-budget=270336']);
      expect(daemon.stderr).toContain(`PETREL_INTERRUPT_BUDGET=${bad} is not a number of bytes or off`);
    }
  });
});
