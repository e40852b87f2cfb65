/**
 * The decision process (RFC 4271 §9.1.2.2, with RFC 4456 for reflected routes), as a pure
 * function over the candidates of one prefix.
 *
 * It eliminates candidates step by step rather than comparing pairs, because the MED step is only
 * defined among routes from the same neighbouring AS and is not transitive as a pairwise order.
 * Local routes (own blocks, borrowed addresses, service routes) come first, as BIRD's static
 * protocol does with its preference 200 against BGP's 100.
 */
import { DEFAULT_LOCAL_PREF, asPathLength, neighborAs, type RouteAttrs } from './attrs.js';

export interface Candidate {
  readonly attrs: RouteAttrs;
  /** Originated by this node. */
  readonly local: boolean;
  /** Learned over an eBGP session. */
  readonly ebgp: boolean;
  /** The peer's BGP identifier as an unsigned 32-bit number (0 for local routes). */
  readonly peerRouterId: number;
  /** The peer's address in a form that orders like the address (see addressRank). */
  readonly peerAddressRank: string;
  readonly pathId: number;
}

/** Which step decided, for `show route all` style explanations and tests. */
export type DecisionStep =
  | 'only'
  | 'local'
  | 'localPref'
  | 'asPathLength'
  | 'origin'
  | 'med'
  | 'ebgp'
  | 'routerId'
  | 'clusterList'
  | 'peerAddress'
  | 'pathId';

export interface Decision {
  readonly index: number;
  readonly step: DecisionStep;
}

function ipv4ToNumber(text: string): number {
  const p = text.split('.');
  return p.length === 4 ? (((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0) : 0;
}

/** Orders addresses numerically: IPv4 before IPv6, each by value. */
export function addressRank(address: string): string {
  if (address.includes(':')) {
    const groups = address.split('::');
    const head = groups[0] ? groups[0].split(':') : [];
    const tail = groups.length > 1 && groups[1] ? groups[1].split(':') : [];
    const all = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
    return `6${all.map((g) => g.padStart(4, '0')).join('')}`;
  }
  return `4${ipv4ToNumber(address).toString(16).padStart(8, '0')}`;
}

export function routerIdNumber(id: string): number {
  return ipv4ToNumber(id);
}

type Metric = (c: Candidate) => number | string;

/** The surviving candidates with the lowest metric. */
function keepLowest(cands: readonly Candidate[], alive: number[], metric: Metric): number[] {
  let best: number | string | undefined;
  for (const i of alive) {
    const m = metric(cands[i]!);
    if (best === undefined || m < best) best = m;
  }
  return alive.filter((i) => metric(cands[i]!) === best);
}

function effectiveRouterId(c: Candidate): number {
  return c.attrs.originatorId !== undefined ? ipv4ToNumber(c.attrs.originatorId) : c.peerRouterId;
}

/** Picks the best of `cands` (non-empty); returns its index and the step that decided. */
export function selectBest(cands: readonly Candidate[]): Decision {
  if (cands.length === 0) throw new Error('selectBest needs at least one candidate');
  if (cands.length === 1) return { index: 0, step: 'only' };
  let alive = cands.map((_, i) => i);
  const steps: Array<[DecisionStep, Metric]> = [
    ['local', (c) => (c.local ? 0 : 1)],
    ['localPref', (c) => -(c.attrs.localPref ?? DEFAULT_LOCAL_PREF)],
    ['asPathLength', (c) => asPathLength(c.attrs)],
    ['origin', (c) => c.attrs.origin],
  ];
  for (const [step, metric] of steps) {
    alive = keepLowest(cands, alive, metric);
    if (alive.length === 1) return { index: alive[0]!, step };
  }
  // MED: compare only within each neighbouring AS; a missing MED counts as 0.
  const lowestMedByAs = new Map<number, number>();
  for (const i of alive) {
    const c = cands[i]!;
    const as = neighborAs(c.attrs);
    const med = c.attrs.med ?? 0;
    const seen = lowestMedByAs.get(as);
    if (seen === undefined || med < seen) lowestMedByAs.set(as, med);
  }
  alive = alive.filter((i) => (cands[i]!.attrs.med ?? 0) === lowestMedByAs.get(neighborAs(cands[i]!.attrs)));
  if (alive.length === 1) return { index: alive[0]!, step: 'med' };
  const rest: Array<[DecisionStep, Metric]> = [
    ['ebgp', (c) => (c.ebgp ? 0 : 1)],
    // (f) IGP cost to the next hop: every next hop is treated as equally near.
    ['routerId', effectiveRouterId],
    ['clusterList', (c) => c.attrs.clusterList?.length ?? 0],
    ['peerAddress', (c) => c.peerAddressRank],
    ['pathId', (c) => c.pathId],
  ];
  for (const [step, metric] of rest) {
    alive = keepLowest(cands, alive, metric);
    if (alive.length === 1) return { index: alive[0]!, step };
  }
  return { index: alive[0]!, step: 'pathId' };
}
