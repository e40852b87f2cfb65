/**
 * The session phase (daemon/tiering.ts) in real daemons: two petrel processes over loopback (as in
 * two-daemons.test.ts) run with four times V8's interrupt budget from their start until their one
 * peer is up, then with V8's own; PETREL_INTERRUPT_BUDGET=off leaves it alone. A code cache the
 * launcher writes at exit while the phase still runs (a peer that never came up) is accepted by
 * the next start: the launcher puts V8's budget back first.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_PHASE_INTERRUPT_BUDGET, V8_INTERRUPT_BUDGET } from '../../daemon/tiering.js';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, PetrelProcess, type LogLine } from './petrel-process.js';

let dir: string;
const running: PetrelProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'pt-tiering-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cluster(port: number): string {
  let text = `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { listenPort: ${port}, nodeToNodeMeshEnabled: true, logSeverityScreen: Info }
`;
  for (const [n, ip] of [['node-a', '127.0.0.1'], ['node-b', '127.0.0.2']]) {
    text += `---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: ${n} }
spec: { bgp: { ipv4Address: ${ip}/8 } }
`;
  }
  return text;
}

function start(file: string, nodeName: string, ip: string, port: number, env: NodeJS.ProcessEnv = {}): PetrelProcess {
  const p = new PetrelProcess(['--node', nodeName, '--listen', `${ip}:${port}`, '--sink', 'mock', '--ctl-socket', join(dir, `${nodeName}-${port}.ctl`), '--log-level', 'debug'], {
    PETREL_DATASTORE: `file:${file}`,
    ...env,
  });
  running.push(p);
  return p;
}

const ready = (l: LogLine) => l.msg === 'control socket ready';
const phaseOver = (l: LogLine) => l.msg === 'session phase over: V8 interrupt budget back to its default';

async function mesh(env: NodeJS.ProcessEnv): Promise<PetrelProcess[]> {
  const port = await freePort();
  const file = join(dir, `mesh-${port}.yaml`);
  await writeFile(file, cluster(port));
  return [start(file, 'node-a', '127.0.0.1', port, env), start(file, 'node-b', '127.0.0.2', port, env)];
}

describe('the session phase in the daemon', () => {
  it('runs from start-up until the peer is up, then V8 has its own budget again', async () => {
    for (const p of await mesh({})) {
      expect((await p.waitLog('ready', ready)).interruptBudget).toBe(SESSION_PHASE_INTERRUPT_BUDGET);
      const over = await p.waitLog('phase over', phaseOver);
      expect(over).toMatchObject({ why: 'all peers up', up: 1, configured: 1, interruptBudget: V8_INTERRUPT_BUDGET });
      expect(p.logs.some((l) => l.msg === 'session established')).toBe(true);
    }
  });

  it('PETREL_INTERRUPT_BUDGET=off: no phase', async () => {
    for (const p of await mesh({ PETREL_INTERRUPT_BUDGET: 'off' })) {
      expect((await p.waitLog('ready', ready)).interruptBudget).toBeUndefined();
      await p.waitLog('established', (l) => l.msg === 'session established');
    }
    expect(running.flatMap((p) => p.logs).filter(phaseOver)).toEqual([]);
  });

  it('a code cache written at exit during the phase is accepted by the next start', async () => {
    const port = await freePort();
    const file = join(dir, `alone-${port}.yaml`);
    await writeFile(file, cluster(port));
    const cache = join(dir, `cache-${port}`);
    // node-b never starts: node-a's phase still runs when it exits.
    const a = start(file, 'node-a', '127.0.0.1', port, { PETREL_CODE_CACHE: 'off', PETREL_CODE_CACHE_WRITE: cache });
    expect((await a.waitLog('ready', ready)).interruptBudget).toBe(SESSION_PHASE_INTERRUPT_BUDGET);
    a.signal('SIGTERM');
    expect(await a.waitExit()).toEqual({ code: 0, signal: null });
    expect(a.logs.filter(phaseOver)).toEqual([]);
    const again = start(file, 'node-a', '127.0.0.1', port, { PETREL_CODE_CACHE: cache });
    expect((await again.waitLog('ready', ready)).codeCache).toBe('accepted');
  });
});
