/**
 * Issue 8, chaos: faults in network namespaces with traffic measured. Two petrel nodes with
 * explicit BGPPeers (hold time 6 s, so a lost link is noticed quickly) and a BIRD 2 bastion,
 * a workload behind each node, and a ping running through each fault:
 * - node B's link goes down for longer than the hold time and comes back: every session expires
 *   and recovers, routes return, and the recovery time after the link is back is measured;
 * - the BIRD bastion restarts: workload-to-workload traffic is untouched, the bastion's own
 *   routes come back once its sessions are re-established.
 * The packet counts are printed for the report (a lost link does lose packets: the link is down).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { nsExec, run } from '../../tools/lab/netns.js';
import { GrLab, type LogLine, type PingResult } from '../gr/gr-lab.js';
import { labForFile } from '../support/lab-lifecycle.js';

const HOLD = 6;
/** Petrel's connect retry (Calico's 5 s), connect delay (2 s) and minimum error wait (5 s). */
const CONNECT_RETRY = 5;
const lab = new GrLab('pt-chaos', 2, HOLD);
const a = () => lab.node('node-a');
const b = () => lab.node('node-b');
const measured: Record<string, unknown> = {};
const tag = (ip: string) => ip.replaceAll('.', '_');

labForFile(lab, {
  ready: () => lab.until('both nodes and the bastion to hold both blocks', () => lab.converged(), 60_000),
  upTimeoutMs: 120_000,
  report: () => `chaos, packets lost: ${JSON.stringify(measured)}`,
});

const established = (proc: ReturnType<typeof b>['proc'], peerIp: string, from: number) =>
  lab.logs(proc).slice(from).find((l: LogLine) => l.msg === 'session established' && typeof l.peer === 'string' && l.peer.includes(tag(peerIp)));

let linkDown = false;

/** Pings of 10 packets (100 ms apart), one after another until stopped; totals across all of them. */
function pingSeries(fromNs: string, to: string) {
  let stopped = false;
  let transmitted = 0;
  let received = 0;
  const loop = (async () => {
    for (let i = 0; i < 200 && !stopped; i++) {
      const r = await lab.ping(fromNs, to, 10, 0.1);
      transmitted += r.transmitted || 10;
      received += r.received;
    }
  })();
  return {
    received: () => received,
    stop: async (): Promise<PingResult> => {
      stopped = true;
      await loop;
      return { transmitted, received, lost: transmitted - received };
    },
  };
}

describe('chaos with traffic measured', () => {
  // A failed link test must not leave the link down for the next one.
  afterEach(async () => {
    if (linkDown) await nsExec(b().ns, 'ip', ['link', 'set', 'eth0', 'up']).then(() => (linkDown = false));
  });

  it('the sessions run with the short hold time', async () => {
    const up = lab.logs(a().proc).find((l) => l.msg === 'session established' && String(l.peer).includes(tag(b().ip)));
    expect(up?.holdTime).toBe(HOLD);
  });

  it("node B's link down longer than the hold time: sessions expire, then recover within hold + connect retry of the link's return, and routes come back", async () => {
    const aMark = lab.logs(a().proc).length;
    const bMark = lab.logs(b().proc).length;
    // Back-to-back bounded pings of 10 (one long ping stops sending after "Net Unreachable" here).
    const ping = pingSeries(a().wl, b().addr);
    await lab.until('traffic to flow', async () => ping.received() >= 10);
    const downAt = Date.now();
    await nsExec(b().ns, 'ip', ['link', 'set', 'eth0', 'down']);
    linkDown = true;
    // A gives up at hold time.
    await lab.until("A's hold timer for B to expire", async () => lab.logs(a().proc).slice(aMark).find((l) => l.msg === 'state change' && l.event === 'HoldTimer_Expires' && String(l.peer).includes(tag(b().ip))), (HOLD + 10) * 1000);
    // A sent 4/0 and our N bit is clear: no graceful restart, B's block goes. (BIRD keeps it, stale:
    // it treats a hold-timer expiry as a graceful restart when the peer advertises long-lived GR.)
    await lab.until("B's block to leave A", async () => !(await lab.birdRoutes(a().ns)).has(b().block), 20_000);
    const bastionKeptStale = (await lab.birdRoutes(lab.bastion.ns)).has(b().block);
    // Down until both ends saw it: the sessions' hold timers ran out (the witness of "longer than the hold time").
    const downFor = (Date.now() - downAt) / 1000;
    const upAt = Date.now();
    await nsExec(b().ns, 'ip', ['link', 'set', 'eth0', 'up']);
    linkDown = false;
    await lab.until('A–B and bastion–B sessions to be re-established', async () => established(b().proc, a().ip, bMark) && established(b().proc, lab.bastion.ip, bMark), 60_000);
    const recovered = (Date.now() - upAt) / 1000;
    await lab.until('routes to return everywhere', () => lab.converged(), 30_000);
    const routesBack = (Date.now() - upAt) / 1000;
    // A few seconds of traffic after recovery, then the summary.
    const before = ping.received();
    await lab.until('pings to flow again', async () => ping.received() >= before + 10, 30_000);
    const r: PingResult = await ping.stop();
    measured.linkDown = { downForSeconds: downFor, bastionKeptStale, sessionsBackSeconds: recovered, routesBackSeconds: routesBack, ping: r };
    // Hold time + connect retry, with the error wait after a hold-timer expiry and scheduling slack on a loaded machine.
    expect(recovered).toBeLessThan(HOLD + CONNECT_RETRY + 15);
    expect(r.received).toBeGreaterThanOrEqual(20);
    expect(r.lost).toBeGreaterThan(0); // the link was down: the ping must have noticed
  }, 180_000);

  it('the BIRD bastion restarts: workload traffic loses nothing, the bastion gets every block back', async () => {
    const aMark = lab.logs(a().proc).length;
    const wl = lab.pingUntilStopped(a().wl, b().addr, 120);
    const bst = lab.pingUntilStopped(lab.bastion.ns, b().addr, 120);
    await lab.until('traffic to flow', async () => wl.replies() >= 10 && bst.replies() >= 10);
    lab.bastion.proc!.signal('SIGTERM');
    await lab.bastion.proc!.waitExit();
    const restartAt = Date.now();
    await lab.startBastion(HOLD);
    await lab.until('A to re-establish with the bastion', async () => established(a().proc, lab.bastion.ip, aMark), 60_000);
    await lab.until('the bastion to learn both blocks again', () => lab.converged(), 60_000);
    const back = (Date.now() - restartAt) / 1000;
    const [w0, s0] = [wl.replies(), bst.replies()];
    await lab.until('both pings to flow again', async () => wl.replies() >= w0 + 10 && bst.replies() >= s0 + 10, 20_000);
    const [w, s] = [await wl.stop(), await bst.stop()];
    measured.bastionRestart = { routesBackSeconds: back, workloadPing: w, bastionPing: s };
    expect(w.transmitted).toBeGreaterThan(0);
    expect(w.lost).toBe(0);
    expect(s.received).toBeGreaterThanOrEqual(20);
    expect((await run('birdc', ['-s', lab.bastion.ctl, 'show', 'protocols'])).match(/Established/g)?.length).toBe(2);
  }, 180_000);
});
