/**
 * "Is the lab ready?": every BGP session a router is meant to have is Established, and every
 * workload address is routed (proto bird) on every other petrel host and on every router that
 * peers with its node. The demo and the scenarios wait on this instead of sleeping.
 */
import { join } from 'node:path';
import { nsExec, routes, waitFor } from './netns.js';
import { hostNamespace, type Host } from './topology.js';
import { readState, type LabState } from './state.js';
import { birdProtocolName } from './router-config.js';
import { parsePrefix4, prefix4Within } from '../../proto/prefix.js';

/** The sessions a router must have up: with other routers always, with petrel hosts once they peer with it. */
function expectedRouterPeers(st: LabState, router: Host): Host[] {
  return router.peers
    .map((p) => st.topology.hosts.find((h) => h.name === p)!)
    .filter((peer) => peer.role !== 'petrel' || router.globalPeer);
}

async function routerPending(st: LabState, host: Host): Promise<string[]> {
  const ns = hostNamespace(st.name, host.name);
  const want = expectedRouterPeers(st, host);
  if (want.length === 0) return [];
  if (host.role === 'bird') {
    const out = await nsExec(ns, 'birdc', ['-s', join(st.dir, `${host.name}.ctl`), 'show', 'protocols']);
    return want.filter((p) => !new RegExp(`^${birdProtocolName(p.name)}\\s+BGP\\s+.*\\bEstablished\\b`, 'm').test(out)).map((p) => `${host.name}↔${p.name}`);
  }
  if (host.role === 'gobgp') {
    const out = await nsExec(ns, 'gobgp', ['neighbor']);
    return want.filter((p) => !new RegExp(`^${p.ip.replace(/\./g, '\\.')}\\s.*Establ`, 'm').test(out)).map((p) => `${host.name}↔${p.name}`);
  }
  return [];
}

async function routePending(st: LabState): Promise<string[]> {
  const pending: string[] = [];
  for (const host of st.topology.hosts) {
    const carries = (w: { host: string }): boolean => {
      if (w.host === host.name) return false;
      if (host.role === 'petrel') return st.topology.nodeToNodeMesh;
      if (host.role === 'bird' || host.role === 'gobgp') return host.globalPeer && host.peers.includes(w.host);
      return false;
    };
    const wanted = st.workloads.filter(carries);
    if (wanted.length === 0) continue;
    const table = (await routes(hostNamespace(st.name, host.name))).filter((r) => r.protocol === 'bird' && r.type !== 'blackhole');
    const prefixes = table.map((r) => String(r.dst)).map((d) => parsePrefix4(d.includes('/') ? d : `${d}/32`, false));
    for (const w of wanted) {
      const a = parsePrefix4(`${w.address}/32`);
      if (!prefixes.some((p) => prefix4Within(a.addr, 32, p.addr, p.len))) pending.push(`${w.address} on ${host.name}`);
    }
  }
  return pending;
}

/** What is not converged yet, as short descriptions; empty when the lab is ready. */
export async function pendingConvergence(st: LabState): Promise<string[]> {
  const out: string[] = [];
  for (const h of st.topology.hosts) out.push(...(await routerPending(st, h)));
  out.push(...(await routePending(st)));
  return out;
}

/** Waits until the lab has converged; the error lists what is still missing. */
export async function labWait(name: string, timeoutMs = 30_000): Promise<void> {
  const st = await readState(name);
  if (!st) throw new Error(`no lab named '${name}' is up`);
  let last: string[] = [];
  try {
    await waitFor('the lab to converge', async () => {
      last = await pendingConvergence(st);
      return last.length === 0;
    }, timeoutMs, 200);
  } catch {
    throw new Error(`lab ${name} did not converge within ${timeoutMs} ms; still missing: ${last.join(', ')}`);
  }
}
