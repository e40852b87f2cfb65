/**
 * Calico's export filter `calico_export_to_bgp_peers(internal)` (calico-behaviour.md §4.2) as a
 * pure function. Rules run in Calico's order and the first accept or reject ends the filter:
 *
 * 1. inside a pool with disableBGPExport → reject (disabled pools are still exported);
 * 2. toward iBGP peers only: a route on a tunnel interface (`*.cali`, `*.calico`) → reject;
 * 3. (communities: not applied yet);
 * 4. for each own block: the block itself → accept, anything strictly inside it → reject;
 * 5. inside a service route → accept;
 * 7. inside a pool that exports → accept;
 * 8. anything else → reject.
 */
import type { NodeIntent, PoolIntent } from '../model.js';
import type { PrefixKey } from '../rib/keys.js';
import { compileCidrs, firstContaining, relation, type CompiledCidr } from './cidr.js';

export type ExportRule =
  | 'disabledExport'
  | 'tunnelInterface'
  | 'ownBlock'
  | 'insideOwnBlock'
  | 'serviceRoute'
  | 'pool'
  | 'default';

export interface ExportVerdict {
  readonly accept: boolean;
  readonly rule: ExportRule;
}

export interface ExportPolicy {
  readonly noExportPools: readonly CompiledCidr<PoolIntent>[];
  readonly exportPools: readonly CompiledCidr<PoolIntent>[];
  readonly ownBlocks: readonly CompiledCidr<string>[];
  readonly serviceRoutes: readonly CompiledCidr<string>[];
}

export function compileExportPolicy(intent: NodeIntent): ExportPolicy {
  return {
    noExportPools: compileCidrs(intent.pools.filter((p) => p.disableBGPExport), (p) => p.cidr),
    exportPools: compileCidrs(intent.pools.filter((p) => !p.disableBGPExport), (p) => p.cidr),
    ownBlocks: compileCidrs(intent.ownBlocks, (b) => b),
    serviceRoutes: compileCidrs(intent.serviceRoutes, (b) => b),
  };
}

/** Felix's tunnel devices (`vxlan.calico`, `wireguard.cali`); `cali1234` has no dot and does not match. */
export function isTunnelInterface(iface: string | undefined): boolean {
  return iface !== undefined && (iface.endsWith('.cali') || iface.endsWith('.calico'));
}

const ACCEPT = (rule: ExportRule): ExportVerdict => ({ accept: true, rule });
const REJECT = (rule: ExportRule): ExportVerdict => ({ accept: false, rule });

/**
 * The verdict for exporting the route `key` (whose output interface is `iface`, when known) to a
 * peer; `internal` is true for iBGP peers (same AS).
 */
export function exportVerdict(policy: ExportPolicy, key: PrefixKey, iface: string | undefined, internal: boolean): ExportVerdict {
  if (firstContaining(key, policy.noExportPools)) return REJECT('disabledExport');
  if (internal && isTunnelInterface(iface)) return REJECT('tunnelInterface');
  for (const block of policy.ownBlocks) {
    const rel = relation(key, block);
    if (rel === 'equal') return ACCEPT('ownBlock');
    if (rel === 'inside') return REJECT('insideOwnBlock');
  }
  if (firstContaining(key, policy.serviceRoutes)) return ACCEPT('serviceRoute');
  if (firstContaining(key, policy.exportPools)) return ACCEPT('pool');
  return REJECT('default');
}
