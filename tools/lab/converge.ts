/**
 * "Is the lab ready?": every BGP session a router is meant to have is Established (the IPv6 one
 * too, with a dual-stack peer), and every workload address of either family is routed (proto
 * bird) on every other petrel host and on every router that peers with its node. The demo and
 * the scenarios wait on this instead of sleeping.
 */
import { join } from 'node:path';
import { nsExec, waitFor } from './netns.js';
import { hostNamespace, type Host } from './topology.js';
import { readState, type LabState } from './state.js';
import { birdProtocolName, birdProtocolName6, ipv6Transport } from './router-config.js';
import { withinCidr } from './addr.js';

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
    const up = (proto: string) => new RegExp(`^${proto}\\s+BGP\\s+.*\\bEstablished\\b`, 'm').test(out);
    return [
      ...want.filter((p) => !up(birdProtocolName(p.name))).map((p) => `${host.name}↔${p.name}`),
      ...want.filter((p) => ipv6Transport(host, p) && !up(birdProtocolName6(p.name))).map((p) => `${host.name}↔${p.name} (IPv6)`),
    ];
  }
  if (host.role === 'gobgp') {
    const out = await nsExec(ns, 'gobgp', ['neighbor']);
    const up = (addr: string) => new RegExp(`^${addr.replace(/[.]/g, '\\.')}\\s.*Establ`, 'm').test(out);
    return [
      ...want.filter((p) => !up(p.ip)).map((p) => `${host.name}↔${p.name}`),
      ...want.filter((p) => { const v6 = ipv6Transport(host, p); return v6 !== undefined && !up(v6[1]); }).map((p) => `${host.name}↔${p.name} (IPv6)`),
    ];
  }
  return [];
}

/** A namespace's proto-bird routes with a gateway or device (not blackholes), both families. */
async function learnedPrefixes(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const text = await nsExec(ns, 'ip', ['-json', `-${family}`, 'route', 'show']);
    const rows = text.trim() ? (JSON.parse(text) as Array<{ dst: string; type?: string; protocol?: string }>) : [];
    for (const r of rows) {
      if (r.protocol !== 'bird' || r.type === 'blackhole' || r.dst === 'default') continue;
      out.push(r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`);
    }
  }
  return out;
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
    const prefixes = await learnedPrefixes(hostNamespace(st.name, host.name));
    for (const w of wanted) {
      for (const a of [w.address, ...(w.address6 !== undefined ? [w.address6] : [])]) {
        // A router without an IPv6 session to the workload's node never learns its IPv6 block.
        if (a.includes(':') && !carriesIpv6(st, host, w.host)) continue;
        if (!prefixes.some((p) => withinCidr(a, p))) pending.push(`${a} on ${host.name}`);
      }
    }
  }
  return pending;
}

/** Whether `host` has an IPv6 route source for `node`'s blocks: a dual-stack mesh peer, or an IPv6 session. */
function carriesIpv6(st: LabState, host: Host, node: string): boolean {
  const peer = st.topology.hosts.find((h) => h.name === node);
  return peer !== undefined && ipv6Transport(host, peer) !== undefined;
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
