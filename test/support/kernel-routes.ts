/** A namespace's kernel routes as `ip -json route show` prints them, per family, and the proto bird ones. */
import { nsExec } from '../../tools/lab/netns.js';

export interface KernelRoute {
  readonly dst: string;
  readonly type?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly flags?: readonly string[];
}

export async function kernelRoutes(ns: string, family: 4 | 6 = 4): Promise<KernelRoute[]> {
  const out = await nsExec(ns, 'ip', ['-json', `-${family}`, 'route', 'show']);
  return out.trim() ? (JSON.parse(out) as KernelRoute[]) : [];
}

/** The routes petrel (or BIRD) installed: protocol bird. */
export async function birdKernelRoutes(ns: string, family: 4 | 6 = 4): Promise<KernelRoute[]> {
  return (await kernelRoutes(ns, family)).filter((r) => r.protocol === 'bird');
}

/** The proto bird IPv4 routes as destination → gateway ('blackhole' for a blackhole): a table to compare whole. */
export async function birdRouteTargets(ns: string): Promise<Map<string, string>> {
  const out = await nsExec(ns, 'ip', ['-json', 'route', 'show', 'proto', 'bird']);
  const rs = (out.trim() ? JSON.parse(out) : []) as KernelRoute[];
  return new Map(rs.map((r) => [r.dst, r.type === 'blackhole' ? 'blackhole' : (r.gateway ?? '')]));
}
