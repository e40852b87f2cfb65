/** Which pools an allocation may use: `cni.projectcalico.org/ipv4pools` semantics (calico-behaviour.md §5). */
import { canonicalCidr, parseCidr } from '../cidr.js';
import { IpamError } from '../errors.js';
import type { IPPool } from '../resources.js';
import { selectorMatches, type Labels } from '../selector.js';

export const POOL_ANNOTATION = { 4: 'cni.projectcalico.org/ipv4pools', 6: 'cni.projectcalico.org/ipv6pools' } as const;

/**
 * The requested pool list from pod and namespace annotations: the pod's annotation replaces the
 * namespace's (no merging). undefined when neither asks for pools.
 */
export function requestedPools(family: 4 | 6, podAnnotations?: Labels, namespaceAnnotations?: Labels): string[] | undefined {
  const key = POOL_ANNOTATION[family];
  const raw = podAnnotations?.[key] ?? namespaceAnnotations?.[key];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new IpamError('BAD_POOL', `failed to parse '${raw}' as JSON: the ${key} annotation must be a JSON array of pool names or CIDRs`);
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new IpamError('BAD_POOL', `the ${key} annotation must be a JSON array of strings, got '${raw}'`);
  return parsed;
}

export interface PoolChoice {
  readonly family: 4 | 6;
  /** Entries by name or CIDR; when set, the pools' selectors are ignored (Calico's back-compat rule). */
  readonly requested?: readonly string[];
  readonly nodeLabels?: Labels;
  readonly use?: 'Workload' | 'Tunnel' | 'LoadBalancer';
}

function usable(p: IPPool, use: string): boolean {
  return (p.spec.allowedUses ?? ['Workload', 'Tunnel']).includes(use as 'Workload');
}

export function familyOfPool(p: IPPool): 4 | 6 {
  return parseCidr(p.spec.cidr).family;
}

/** The candidate pools, in order; throws IpamError for a requested pool that is unknown or disabled. */
export function choosePools(pools: readonly IPPool[], choice: PoolChoice): IPPool[] {
  const use = choice.use ?? 'Workload';
  if (choice.requested && choice.requested.length > 0) {
    return choice.requested.map((entry) => {
      const byName = pools.find((p) => p.metadata.name === entry);
      let pool = byName;
      if (!pool) {
        let cidr: string;
        try {
          cidr = canonicalCidr(entry);
        } catch {
          throw new IpamError('BAD_POOL', `error parsing pool "${entry}": not the name of an IP pool, nor a CIDR`);
        }
        if (parseCidr(cidr).family !== choice.family) throw new IpamError('BAD_POOL', `"${entry}" isn't a IPv${choice.family} address`);
        pool = pools.find((p) => canonicalCidr(p.spec.cidr) === cidr);
        if (!pool) throw new IpamError('BAD_POOL', `the given pool (${cidr}) does not exist, or is not enabled`);
      }
      if (pool.spec.disabled) throw new IpamError('BAD_POOL', `the given pool (${pool.spec.cidr}) does not exist, or is not enabled`);
      if (familyOfPool(pool) !== choice.family) throw new IpamError('BAD_POOL', `"${pool.spec.cidr}" isn't a IPv${choice.family} address`);
      return pool;
    });
  }
  return pools.filter(
    (p) => !p.spec.disabled && familyOfPool(p) === choice.family && usable(p, use) && (p.spec.assignmentMode ?? 'Automatic') === 'Automatic' && selectorMatches(p.spec.nodeSelector, choice.nodeLabels),
  );
}
