/**
 * The lab's stand-in for zebra on a GoBGP router: gobgpd (without zebra) never touches the
 * kernel, so this loop copies its best learned IPv4 routes into the namespace's table with
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
    const nh = best.attrs?.find((a) => a.type === 3)?.nexthop ?? best.attrs?.find((a) => a.type === 14)?.nexthops?.[0];
    if (nh && nh !== '0.0.0.0') out.push({ prefix, via: nh });
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

async function currentRoutes(): Promise<PumpRoute[]> {
  const out = await run('ip', ['-json', 'route', 'show', 'proto', 'bird']);
  const rows = out.trim() ? (JSON.parse(out) as Array<{ dst: string; gateway?: string }>) : [];
  return rows.filter((r) => r.gateway).map((r) => ({ prefix: r.dst.includes('/') ? r.dst : `${r.dst}/32`, via: r.gateway! }));
}

async function pumpOnce(): Promise<void> {
  const desired = desiredRoutes(await run('gobgp', ['global', 'rib', '-a', 'ipv4', '-j']));
  for (const cmd of pumpCommands(desired, await currentRoutes())) {
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
