/** The Datastore behaviour shared by every backend: validation, IPAM transactions, watch debouncing. */
import { ConfigError, IpamError, type ConfigIssue } from '../errors.js';
import { planAllocate, planConfirm, planRelease, planReleaseEmptyBlocks, planReleaseNode, type AllocateRequest, type IpamWrite } from '../ipam/assign.js';
import { resourceKey, snapshotOf, type ClusterSnapshot, type IPPool, type Resource, type ResourceKind } from '../resources.js';
import { validateSet } from '../validate.js';
import { canonicalCidr } from '../cidr.js';
import type { AllocateResult, ApplyResult, Datastore, Liveness, StoreBackend, WatchEvent } from './types.js';

const WATCH_DEBOUNCE_MS = 40;
/** Bound on claim/confirm rounds for one allocation (each round makes progress or fails). */
const MAX_ALLOCATE_ROUNDS = 64;

function ipamTxnBody<T>(writes: readonly IpamWrite[], result: T) {
  return { puts: writes.filter((w) => w.op === 'put').map((w) => w.resource as Resource), deletes: writes.filter((w) => w.op === 'delete').map((w) => w.resource as Resource), result };
}

function immutabilityIssues(existing: Resource | undefined, incoming: Resource): ConfigIssue[] {
  if (!existing || existing.kind !== 'IPPool' || incoming.kind !== 'IPPool') return [];
  const out: ConfigIssue[] = [];
  const at = (field: string, message: string): ConfigIssue => ({
    file: incoming.origin?.file ?? '<apply>', line: incoming.origin?.fieldLines[field] ?? incoming.origin?.line ?? 0, kind: 'IPPool', name: incoming.metadata.name, field, message,
  });
  const a = existing as IPPool;
  const b = incoming;
  try {
    if (canonicalCidr(a.spec.cidr) !== canonicalCidr(b.spec.cidr)) out.push(at('spec.cidr', 'IPPool CIDR cannot be modified'));
  } catch {
    /* malformed CIDRs are reported by validation */
  }
  if ((a.spec.blockSize ?? null) !== (b.spec.blockSize ?? null)) out.push(at('spec.blockSize', 'IPPool BlockSize cannot be modified'));
  return out;
}

export function createDatastore(backend: StoreBackend): Datastore {
  // The snapshot of the backend's last read. A backend that answers an unchanged store with the same
  // read (the file backend) gets the same snapshot back, so a caller can tell "nothing changed" by
  // identity: the watch's first read, just after the daemon's first snapshot, is then no new work.
  let lastRead: Awaited<ReturnType<StoreBackend['read']>> | undefined;
  let lastSnapshot: ClusterSnapshot | undefined;
  const snapshotFor = (read: Awaited<ReturnType<StoreBackend['read']>>): ClusterSnapshot => {
    if (read !== lastRead || !lastSnapshot) {
      lastSnapshot = snapshotOf(read.resources);
      lastRead = read;
    }
    return lastSnapshot;
  };
  const snapshot = async (): Promise<ClusterSnapshot> => {
    const read = await backend.read();
    if (read.issues.length > 0) throw new ConfigError(read.issues);
    return snapshotFor(read);
  };
  const ipamTxn = <T>(fn: (s: ClusterSnapshot) => { writes: IpamWrite[]; result: T }): Promise<T> =>
    backend.transact((resources) => {
      const r = fn(snapshotOf(resources));
      return ipamTxnBody(r.writes, r.result);
    });

  const ds: Datastore = {
    url: backend.url,
    snapshot,
    async list(kind?: ResourceKind) {
      const { resources } = await backend.read();
      return resources.filter((r) => kind === undefined || r.kind === kind).sort((a, b) => (resourceKey(a) < resourceKey(b) ? -1 : 1));
    },
    async get(kind, name) {
      const { resources } = await backend.read();
      return resources.find((r) => r.kind === kind && r.metadata.name === name);
    },
    async apply(incoming): Promise<ApplyResult> {
      return backend.transact((resources) => {
        const byKey = new Map(resources.map((r) => [resourceKey(r), r]));
        const issues: ConfigIssue[] = [];
        const created: string[] = [];
        const updated: string[] = [];
        const puts: Resource[] = [];
        for (const r of incoming) {
          const key = resourceKey(r);
          const existing = byKey.get(key);
          issues.push(...immutabilityIssues(existing, r));
          const version = existing?.metadata.resourceVersion;
          const { resourceVersion: _drop, ...meta } = r.metadata;
          puts.push({ ...r, metadata: version !== undefined ? { ...meta, resourceVersion: version } : meta } as Resource);
          (existing ? updated : created).push(key);
        }
        const incomingKeys = new Set(incoming.map(resourceKey));
        // Incoming resources go last so cross-resource problems are reported on them, at their lines.
        const merged = [...resources.filter((r) => !incomingKeys.has(resourceKey(r))), ...incoming];
        const cross = validateSet(merged).filter((i) => incomingKeys.has(`${i.kind}/${i.name}`));
        issues.push(...cross);
        if (issues.length > 0) throw new ConfigError(issues);
        return { puts, deletes: [], result: { created, updated } };
      });
    },
    async delete(refs) {
      return backend.transact((resources) => {
        const deleted: string[] = [];
        const missing: string[] = [];
        const deletes: Resource[] = [];
        let puts: Resource[] = [];
        for (const ref of refs) {
          const r = resources.find((x) => x.kind === ref.kind && x.metadata.name === ref.name);
          if (r) {
            deletes.push(r);
            deleted.push(resourceKey(r));
          } else missing.push(`${ref.kind}/${ref.name}`);
        }
        // Deleting a Node releases its block affinities (Calico does the same), in the same transaction.
        const snap = snapshotOf(resources);
        for (const ref of refs) {
          if (ref.kind !== 'Node' || !resources.some((x) => x.kind === 'Node' && x.metadata.name === ref.name)) continue;
          const body = ipamTxnBody(planReleaseNode(snap, ref.name), undefined);
          const touched = new Set([...body.puts, ...body.deletes].map(resourceKey));
          puts = [...puts.filter((p) => !touched.has(resourceKey(p))), ...body.puts];
          deletes.push(...body.deletes.filter((d) => !deletes.some((x) => resourceKey(x) === resourceKey(d))));
        }
        return { puts, deletes, result: { deleted, missing } };
      });
    },
    async allocate(req: AllocateRequest): Promise<AllocateResult> {
      const claimed: string[] = [];
      for (let round = 0; round < MAX_ALLOCATE_ROUNDS; round++) {
        const plan = await ipamTxn((s) => {
          const p = planAllocate(s, req);
          return { writes: p.writes, result: p };
        });
        if (plan.kind === 'assign') return { ip: plan.ip, block: plan.block, borrowed: plan.borrowed, claimed };
        // Phase two: confirm the affinity we just made pending.
        await ipamTxn((s) => ({ writes: planConfirm(s, req.node, plan.block), result: undefined }));
        if (!claimed.includes(plan.block)) claimed.push(plan.block);
      }
      throw new IpamError('CONFLICT', `could not allocate an address for node "${req.node}" after ${MAX_ALLOCATE_ROUNDS} rounds of contention`);
    },
    async release(what) {
      return ipamTxn((s) => {
        const p = planRelease(s, what);
        return { writes: p.writes, result: p.released };
      });
    },
    async releaseEmptyBlocks(node, keepLast = true) {
      return ipamTxn((s) => {
        const p = planReleaseEmptyBlocks(s, node, keepLast);
        return { writes: p.writes, result: p.blocks };
      });
    },
    async watch(cb: (ev: WatchEvent) => void) {
      let lastGood: ClusterSnapshot | undefined;
      let lastSig = '';
      let lastSeen: Awaited<ReturnType<StoreBackend['read']>> | undefined;
      let timer: NodeJS.Timeout | undefined;
      let running = false;
      let again = false;
      let stopped = false;
      const refresh = async () => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            let read: { resources: Resource[]; issues: ConfigIssue[] };
            try {
              read = await backend.read();
            } catch (e) {
              // Unreadable store (e.g. file vanished mid-rename, etcd down): report, keep the last good state.
              cb({ type: 'error', error: e as Error, ...(lastGood ? { lastGood } : {}) });
              lastSig = '';
              lastSeen = undefined;
              continue;
            }
            // The same read as last time (a backend that keeps it while nothing changed): unchanged.
            if (read === lastSeen || stopped) continue;
            lastSeen = read;
            const { resources, issues } = read;
            const sig = JSON.stringify({ r: resources.map(({ origin: _o, ...r }) => ({ ...r, metadata: { ...r.metadata, resourceVersion: undefined } })), i: issues });
            if (sig === lastSig || stopped) continue;
            lastSig = sig;
            if (issues.length > 0) cb({ type: 'error', error: new ConfigError(issues), ...(lastGood ? { lastGood } : {}) });
            else {
              lastGood = snapshotFor(read);
              cb({ type: 'snapshot', snapshot: lastGood });
            }
          } while (again && !stopped);
        } catch (e) {
          cb({ type: 'error', error: e as Error, ...(lastGood ? { lastGood } : {}) });
        } finally {
          running = false;
        }
      };
      const stopRaw = await backend.watchRaw(() => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => void refresh(), WATCH_DEBOUNCE_MS);
      });
      await refresh();
      return async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        await stopRaw();
      };
    },
    registerLiveness(node, ttlSeconds = 30): Promise<Liveness> {
      return backend.registerLiveness(node, ttlSeconds);
    },
    liveNodes: () => backend.liveNodes(),
    close: () => backend.close(),
  };
  return ds;
}
