/**
 * Issue 8, graceful restart end to end: two Petrel nodes and a BIRD 2 bastion in namespaces, a
 * workload behind each node, and continuous bounded pings (workload A → workload B, and bastion →
 * workload B) while petrel on node B restarts. Zero packets may be lost: node B's kernel keeps its
 * routes through its own restart (restarting speaker), node A and BIRD keep B's routes while B is
 * away (receiving speakers), and after B's End-of-RIB every table is back to non-stale.
 */
import { describe, expect, it } from 'vitest';
import { GrLab, type LogLine, type PingResult } from './gr-lab.js';
import { labForFile } from '../support/lab-lifecycle.js';

const lab = new GrLab('pt-gr', 1);
const a = () => lab.node('node-a');
const b = () => lab.node('node-b');
const peerOf = (ip: string) => (l: LogLine) => typeof l.peer === 'string' && l.peer.includes(ip.replaceAll('.', '_'));
/** Packet counts of every case, printed at the end for the report. */
const measured: Record<string, { workload: PingResult; bastion: PingResult }> = {};

labForFile(lab, {
  ready: () => lab.until('both nodes and the bastion to hold both blocks', () => lab.converged(), 60_000),
  upTimeoutMs: 120_000,
  report: () => `graceful restart, packets lost: ${JSON.stringify(measured)}`,
});

/**
 * Restarts petrel on node B (by `kill`) under two pings of 400 packets 50 ms apart (20 s), and
 * waits for the whole recovery: B re-learned and removed nothing it needed, A saw B's End-of-RIB.
 */
async function restartUnderPing(label: string, kill: () => void) {
  const n = b();
  const old = n.proc!;
  const aLogs = () => lab.logs(a().proc);
  const aMark = aLogs().length;
  let pingsDone = false;
  const pingWl = lab.ping(a().wl, n.addr, 400);
  const pingBst = lab.ping(lab.bastion.ns, n.addr, 400);
  void Promise.all([pingWl, pingBst]).then(() => (pingsDone = true));
  // Traffic flows before anything happens.
  await lab.until('the pings to start', async () => (await lab.birdRoutes(a().ns)).get(n.block) === n.ip);
  kill();
  await old.waitExit(10_000);
  // A keeps B's routes, stale, while B is away.
  await lab.until('node A to keep node B as restarting', async () => aLogs().slice(aMark).find((l) => l.msg === 'graceful restart: peer went down, its routes are kept as stale' && peerOf(n.ip)(l)));
  expect((await lab.birdRoutes(a().ns)).get(n.block)).toBe(n.ip);
  expect((await lab.birdRoutes(n.ns)).get(a().block)).toBe(a().ip);
  const next = lab.startPetrel(n.name, ['--restart-on-sigterm']);
  const kept = await lab.waitLog(next, 'B to find its kernel routes', (l) => l.msg === 'graceful restart: kernel routes from the previous run kept');
  // Its own block (blackhole) and node A's block.
  expect(kept.preserved).toBe(2);
  const over = await lab.waitLog(next, 'B to finish recovery', (l) => l.msg === 'graceful restart: recovery over', 60_000);
  expect(over.why).toBe('end-of-rib');
  await lab.until('node A to see B recovered (End-of-RIB, stale purged)', async () => aLogs().slice(aMark).find((l) => l.msg === 'graceful restart: peer recovered' && peerOf(n.ip)(l)), 60_000);
  // The pings must have covered the whole restart, recovery included.
  expect(pingsDone).toBe(false);
  const [workload, bastion] = await Promise.all([pingWl, pingBst]);
  measured[label] = { workload, bastion };
  return { workload, bastion, next };
}

describe('graceful restart with zero traffic loss', () => {
  it('the OPENs carry graceful restart (BIRD sees petrel as restart-able)', async () => {
    const out = await lab.until('BIRD to show the node_b session', async () => {
      const { run } = await import('../../tools/lab/netns.js');
      const s = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'protocols', 'all', 'node_b']);
      return s.includes('Established') ? s : undefined;
    });
    expect(out).toMatch(/Graceful restart/);
    expect(out).toMatch(/AF preserved:\s+ipv4/);
  });

  it('SIGTERM with restart intent, then start: no packet lost, and every table back to the same routes', async () => {
    const r = await restartUnderPing('sigterm', () => b().proc!.signal('SIGTERM'));
    expect(r.workload.transmitted).toBe(400);
    expect(r.workload.lost).toBe(0);
    expect(r.bastion.transmitted).toBe(400);
    expect(r.bastion.lost).toBe(0);
    expect(await lab.converged()).toBe(true);
  }, 120_000);

  it('kill -9, then start: no packet lost either (a crash is a restart)', async () => {
    const r = await restartUnderPing('kill -9', () => b().proc!.signal('SIGKILL'));
    expect(r.workload.lost).toBe(0);
    expect(r.bastion.lost).toBe(0);
    expect(await lab.converged()).toBe(true);
  }, 120_000);

  it('a plain stop (SIGINT: no restart intent) still withdraws: A and BIRD drop B\'s block at once', async () => {
    const n = b();
    n.proc!.signal('SIGINT');
    await n.proc!.waitExit();
    await lab.until("B's block to leave A and the bastion", async () => !(await lab.birdRoutes(a().ns)).has(n.block) && !(await lab.birdRoutes(lab.bastion.ns)).has(n.block), 20_000);
    // Restarted, it finds its kernel routes, recovers and everything converges again.
    const next = lab.startPetrel(n.name);
    await lab.waitLog(next, 'B to finish recovery', (l) => l.msg === 'graceful restart: recovery over', 60_000);
    await lab.until('convergence', () => lab.converged(), 30_000);
  }, 90_000);
});
