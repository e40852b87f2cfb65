/**
 * Origination: the routes this node announces on its own, computed from its NodeIntent.
 *
 * - one blackhole per affine block, except /32 (v4) and /128 (v6) blocks (Calico's static protocol);
 * - a host route for every address this node holds in another node's block (Calico learns these
 *   from Felix's kernel routes; Petrel takes them from IPAM directly);
 * - a blackhole per advertised service CIDR.
 * A prefix listed twice keeps its first kind, blocks first.
 */
import type { NodeIntent } from './model.js';
import type { LocalKind } from './rib/attrs.js';
import { cidrToKey, prefixLenOfKey, type PrefixKey } from './rib/keys.js';

export interface Originated {
  readonly key: PrefixKey;
  readonly kind: LocalKind;
}

export interface OriginationProblem {
  readonly cidr: string;
  readonly reason: string;
}

export function originate(intent: NodeIntent): { routes: Map<PrefixKey, LocalKind>; problems: OriginationProblem[] } {
  const routes = new Map<PrefixKey, LocalKind>();
  const problems: OriginationProblem[] = [];
  const add = (cidr: string, kind: LocalKind) => {
    let key: PrefixKey;
    try {
      key = cidrToKey(cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`);
    } catch (e) {
      problems.push({ cidr, reason: (e as Error).message });
      return;
    }
    if (kind === 'block' && prefixLenOfKey(key) === (typeof key === 'number' ? 32 : 128)) return;
    if (!routes.has(key)) routes.set(key, kind);
  };
  for (const b of intent.ownBlocks) add(b, 'block');
  for (const a of intent.borrowed) add(a, 'borrowed');
  for (const s of intent.serviceRoutes) add(s, 'service');
  return { routes, problems };
}

export interface OriginationDiff {
  readonly announce: readonly Originated[];
  readonly withdraw: readonly PrefixKey[];
}

/** What changes between two originated sets (a changed kind is a re-announcement). */
export function diffOrigination(before: ReadonlyMap<PrefixKey, LocalKind>, after: ReadonlyMap<PrefixKey, LocalKind>): OriginationDiff {
  const announce: Originated[] = [];
  const withdraw: PrefixKey[] = [];
  for (const [key, kind] of after) if (before.get(key) !== kind) announce.push({ key, kind });
  for (const key of before.keys()) if (!after.has(key)) withdraw.push(key);
  return { announce, withdraw };
}
