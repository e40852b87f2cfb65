/**
 * The etcd v3 datastore: resources under Calico-like keys, IPAM changes as compare-and-swap
 * transactions (a new key must not exist, an updated key must be unchanged since it was read), so
 * two nodes can never claim the same block. Liveness keys hang off a lease.
 */
import { Etcd3, type Namespace } from 'etcd3';
import { parseCidr } from '../cidr.js';
import { IpamError, type ConfigIssue } from '../errors.js';
import { parseResources } from '../parse.js';
import { cidrToKey, stripOrigin, type Resource } from '../resources.js';
import { validateSet } from '../validate.js';
import type { Liveness, StoreBackend } from './types.js';
import { parseEtcdUrl } from './etcd-url.js';

export { parseEtcdUrl, type EtcdLocation } from './etcd-url.js';

const ROOT = '/calico/';
const LIVENESS = '/calico/petrel/v1/liveness/';
const MAX_TXN_ATTEMPTS = 200;

const PLURAL: Record<string, string> = {
  BGPConfiguration: 'bgpconfigurations',
  BGPPeer: 'bgppeers',
  IPPool: 'ippools',
  Node: 'nodes',
  IPAMConfiguration: 'ipamconfigurations',
};

/** The etcd key of a resource (IPAM keys follow libcalico-go's layout). */
export function etcdKeyOf(r: Resource): string {
  if (r.kind === 'IPAMBlock') {
    const c = parseCidr(r.spec.cidr);
    return `/calico/ipam/v2/assignment/ipv${c.family}/block/${cidrToKey(r.spec.cidr)}`;
  }
  if (r.kind === 'BlockAffinity') {
    const c = parseCidr(r.spec.cidr);
    return `/calico/ipam/v2/host/${r.spec.node}/ipv${c.family}/block/${cidrToKey(r.spec.cidr)}`;
  }
  return `/calico/resources/v3/projectcalico.org/${PLURAL[r.kind]}/${r.metadata.name}`;
}

function valueOf(r: Resource): string {
  const clean = stripOrigin(r);
  const { resourceVersion: _rv, ...metadata } = clean.metadata;
  return JSON.stringify({ ...clean, metadata });
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function openEtcdStore(url: string): StoreBackend {
  const loc = parseEtcdUrl(url);
  const client = new Etcd3({ hosts: loc.endpoints, dialTimeout: 5000 });
  const ns: Namespace = loc.prefix ? client.namespace(loc.prefix) : client;

  // Parsed values by key and mod revision: a transaction re-reads everything but re-parses only what changed.
  let cache = new Map<string, { rev: string; resources: Resource[]; issues: ConfigIssue[] }>();
  const read = async (): Promise<{ resources: Resource[]; issues: ConfigIssue[] }> => {
    const res = await ns.getAll().prefix(ROOT).exec();
    const resources: Resource[] = [];
    const issues: ConfigIssue[] = [];
    const next = new Map<string, { rev: string; resources: Resource[]; issues: ConfigIssue[] }>();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      if (key.startsWith(LIVENESS)) continue;
      const rev = String(kv.mod_revision);
      let entry = cache.get(key);
      if (!entry || entry.rev !== rev) {
        const parsed = parseResources(kv.value.toString(), `etcd:${key}`);
        entry = { rev, resources: parsed.resources.map((r) => ({ ...r, metadata: { ...r.metadata, resourceVersion: rev } }) as Resource), issues: parsed.errors };
      }
      next.set(key, entry);
      issues.push(...entry.issues);
      resources.push(...entry.resources);
    }
    cache = next;
    issues.push(...validateSet(resources));
    return { resources, issues };
  };

  const backend: StoreBackend = {
    url,
    read,
    async transact(fn) {
      for (let attempt = 0; attempt < MAX_TXN_ATTEMPTS; attempt++) {
        const { resources } = await read();
        const { puts, deletes, result } = fn(resources);
        if (puts.length === 0 && deletes.length === 0) return result;
        const compares: [string, 'Mod' | 'Create', number][] = [];
        for (const r of [...puts, ...deletes]) {
          const rv = r.metadata.resourceVersion;
          compares.push(typeof rv === 'string' ? [etcdKeyOf(r), 'Mod', Number(rv)] : [etcdKeyOf(r), 'Create', 0]);
        }
        const [first, ...others] = compares as [[string, 'Mod' | 'Create', number], ...[string, 'Mod' | 'Create', number][]];
        let txn = ns.if(first[0], first[1], '==', first[2]);
        for (const c of others) txn = txn.and(c[0], c[1], '==', c[2]);
        const ops = [...puts.map((r) => ns.put(etcdKeyOf(r)).value(valueOf(r))), ...deletes.map((r) => ns.delete().key(etcdKeyOf(r)))];
        const out = await txn.then(...ops).commit();
        if (out.succeeded) return result;
        // Someone changed a key we read: run the whole decision again on fresh state.
        await pause(Math.random() * Math.min(50, 2 + attempt));
      }
      throw new IpamError('CONFLICT', `etcd transaction kept conflicting after ${MAX_TXN_ATTEMPTS} attempts`);
    },
    async watchRaw(onChange) {
      const w = await ns.watch().prefix(ROOT).create();
      w.on('data', () => onChange());
      w.on('error', () => onChange());
      return async () => {
        await w.cancel();
      };
    },
    async registerLiveness(node, ttlSeconds): Promise<Liveness> {
      const lease = ns.lease(ttlSeconds);
      lease.on('lost', () => undefined); // the next liveNodes() simply no longer lists us
      await lease.put(`${LIVENESS}${node}`).value(String(process.pid));
      return { close: () => lease.revoke() };
    },
    async liveNodes() {
      const keys = await ns.getAll().prefix(LIVENESS).keys();
      return keys.map((k) => k.slice(LIVENESS.length)).sort();
    },
    async close() {
      client.close();
    },
  };
  return backend;
}
