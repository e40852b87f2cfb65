/**
 * The lab's stand-in for zebra on a GoBGP router: gobgpd (without zebra) never touches the
 * kernel, so this loop copies its best learned IPv4 and IPv6 routes into the namespace's tables with
 * protocol `bird` (so tests read bastion tables the same way for BIRD and GoBGP) and removes
 * the ones gobgpd no longer has. Run inside the router's namespace: `node gobgp-pump.js`.
 */
import { run } from './netns.js';

export interface PumpRoute {
  readonly prefix: string;
  readonly via: string;
}

interface RibPath {
  readonly best?: boolean;
  readonly 'neighbor-ip'?: string;
  readonly attrs?: ReadonlyArray<{ readonly type: number; readonly nexthop?: string; readonly nexthops?: readonly string[] }>;
}

/** Best paths learned from a neighbor (not locally originated), from `gobgp global rib -j`. */
export function desiredRoutes(ribJson: string): PumpRoute[] {
  const text = ribJson.trim();
  if (!text) return [];
  const rib = JSON.parse(text) as Record<string, readonly RibPath[]>;
  const out: PumpRoute[] = [];
  for (const [prefix, paths] of Object.entries(rib)) {
    const best = paths.find((p) => p.best && p['neighbor-ip']);
    if (!best) continue;
    // NEXT_HOP (3) for IPv4; MP_REACH_NLRI (14) for IPv6, which gobgp prints as `nexthop` (or a `nexthops` list).
    const mp = best.attrs?.find((a) => a.type === 14);
    const nh = best.attrs?.find((a) => a.type === 3)?.nexthop ?? mp?.nexthop ?? mp?.nexthops?.[0];
    if (nh && nh !== '0.0.0.0' && nh !== '::') out.push({ prefix, via: nh });
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/** `ip` commands turning the current proto-bird routes into the desired ones. */
export function pumpCommands(desired: readonly PumpRoute[], current: readonly PumpRoute[]): string[][] {
  const cur = new Map(current.map((r) => [r.prefix, r.via]));
  const want = new Map(desired.map((r) => [r.prefix, r.via]));
  const cmds: string[][] = [];
  for (const [prefix, via] of want) if (cur.get(prefix) !== via) cmds.push(['route', 'replace', prefix, 'via', via, 'proto', 'bird']);
  for (const prefix of cur.keys()) if (!want.has(prefix)) cmds.push(['route', 'del', prefix, 'proto', 'bird']);
  return cmds;
}

async function currentRoutes(family: 4 | 6): Promise<PumpRoute[]> {
  const out = await run('ip', [`-${family}`, '-json', 'route', 'show', 'proto', 'bird']);
  const rows = out.trim() ? (JSON.parse(out) as Array<{ dst: string; gateway?: string }>) : [];
  return rows.filter((r) => r.gateway).map((r) => ({ prefix: r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`, via: r.gateway! }));
}

async function pumpOnce(): Promise<void> {
  await pumpFamily(4);
  // An IPv4-only router has an empty IPv6 RIB: nothing changes there.
  await pumpFamily(6);
}

async function pumpFamily(family: 4 | 6): Promise<void> {
  const desired = desiredRoutes(await run('gobgp', ['global', 'rib', '-a', family === 4 ? 'ipv4' : 'ipv6', '-j']));
  for (const cmd of pumpCommands(desired, await currentRoutes(family))) {
    try {
      await run('ip', cmd);
      process.stdout.write(`${new Date().toISOString()} ip ${cmd.join(' ')}\n`);
    } catch (e) {
      process.stdout.write(`${new Date().toISOString()} ip ${cmd.join(' ')} failed: ${String(e)}\n`);
    }
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const intervalMs = Number(process.env.PETREL_PUMP_INTERVAL_MS ?? 500);
  let stopping = false;
  const stop = (): void => {
    stopping = true;
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const loop = async (): Promise<void> => {
    while (!stopping) {
      await pumpOnce().catch((e: unknown) => process.stdout.write(`${new Date().toISOString()} ${String(e)}\n`));
      await new Promise((r) => setTimeout(r, intervalMs)); // a poll period, not synchronisation
    }
  };
  void loop();
}
