/** Builders for RIB tests: intents, peers, UPDATEs, and an encoder that records what it was asked to send. */
import type { NodeIntent, PoolIntent } from '../../daemon/model.js';
import type { EnginePeer, PeerOutput, RibUpdate, UpdateEncoder } from '../../daemon/rib/index.js';
import type { RouteAttrs } from '../../daemon/rib/attrs.js';
import { cidrToKey, familyOfKey, forEachPackedKey, keyToCidr, packKeys } from '../../daemon/rib/keys.js';
import type { Family } from '../../daemon/model.js';

export function pool(cidr: string, over: Partial<PoolIntent> = {}): PoolIntent {
  return {
    name: `pool-${cidr}`,
    cidr,
    family: cidr.includes(':') ? 6 : 4,
    blockSize: cidr.includes(':') ? 122 : 26,
    ipipMode: 'Always',
    vxlanMode: 'Never',
    natOutgoing: true,
    disabled: false,
    disableBGPExport: false,
    ...over,
  };
}

export function intent(over: Partial<NodeIntent> = {}): NodeIntent {
  return {
    nodeName: 'node-a',
    routerId: '172.16.30.1',
    localAs: 64512,
    ipv4Address: '172.16.30.1',
    ipv4Network: '172.16.30.0/24',
    listenPort: 179,
    logLevel: 'info',
    peers: [],
    pools: [pool('10.244.0.0/16')],
    ownBlocks: ['10.244.1.0/26'],
    borrowed: [],
    serviceRoutes: [],
    rejectCidrs: [],
    ...over,
  };
}

export function peer(name: string, over: Partial<EnginePeer> = {}): EnginePeer {
  return {
    name,
    peerIp: '172.16.30.2',
    peerAs: 64512,
    localAs: 64512,
    ibgp: true,
    neighborId: '172.16.30.2',
    localAddress: '172.16.30.1',
    keepOriginalNextHop: false,
    rrClient: false,
    addPathTx: false,
    addPathRx: false,
    as4: true,
    families: [4],
    maxPrefixesAction: 'reset',
    ...over,
  };
}

export function attrs(over: Partial<RouteAttrs> = {}): RouteAttrs {
  return { origin: 0, asPath: [], unknown: [], nextHop: '172.16.30.2', localPref: 100, ...over } as RouteAttrs;
}

export function announce(cidrs: readonly string[], a: RouteAttrs, pathIds?: number[]): RibUpdate {
  const v4 = cidrs.filter((c) => !c.includes(':'));
  return {
    withdrawn: new Uint32Array(0),
    attrs: a,
    nlri: packKeys(4, v4.map(cidrToKey)),
    ...(pathIds ? { nlriPathIds: Uint32Array.from(pathIds) } : {}),
    treatAsWithdraw: false,
  };
}

export function withdraw(cidrs: readonly string[]): RibUpdate {
  return { withdrawn: packKeys(4, cidrs.map(cidrToKey)), attrs: null, nlri: new Uint32Array(0), treatAsWithdraw: false };
}

export type Sent =
  | { readonly kind: 'update'; readonly family: Family; readonly attrs: RouteAttrs; readonly prefixes: string[] }
  | { readonly kind: 'withdraw'; readonly family: Family; readonly prefixes: string[] }
  | { readonly kind: 'eor'; readonly family: Family };

function unpack(family: Family, packed: Uint32Array): string[] {
  const out: string[] = [];
  forEachPackedKey(family, packed, (k) => out.push(keyToCidr(k)));
  return out;
}

/** Each "message" is a 4-byte index into `log`, so outputs can be turned back into what was encoded. */
export class RecordingEncoder implements UpdateEncoder {
  readonly log: Sent[] = [];
  private msg(s: Sent): Uint8Array {
    this.log.push(s);
    return new Uint8Array(new Uint32Array([this.log.length - 1]).buffer);
  }
  updates(a: RouteAttrs, family: Family, prefixes: Uint32Array): Uint8Array[] {
    return [this.msg({ kind: 'update', family, attrs: a, prefixes: unpack(family, prefixes) })];
  }
  withdrawals(family: Family, prefixes: Uint32Array): Uint8Array[] {
    return [this.msg({ kind: 'withdraw', family, prefixes: unpack(family, prefixes) })];
  }
  endOfRib(family: Family): Uint8Array {
    return this.msg({ kind: 'eor', family });
  }
  decode(m: Uint8Array): Sent {
    return this.log[new Uint32Array(m.slice().buffer)[0]!]!;
  }
}

/** A peer's output that decodes what it received through a RecordingEncoder. */
export class Capture implements PeerOutput {
  readonly sent: Sent[] = [];
  constructor(private readonly enc: RecordingEncoder) {}
  send(msgs: Uint8Array[]): void {
    for (const m of msgs) this.sent.push(this.enc.decode(m));
  }
  take(): Sent[] {
    return this.sent.splice(0);
  }
  /** What the peer currently holds, replaying announcements and withdrawals. */
  table(): Map<string, RouteAttrs> {
    const t = new Map<string, RouteAttrs>();
    for (const s of this.sent) {
      if (s.kind === 'update') for (const p of s.prefixes) t.set(p, s.attrs);
      if (s.kind === 'withdraw') for (const p of s.prefixes) t.delete(p);
    }
    return t;
  }
}

export { familyOfKey };
