/**
 * The simulated network of the simulation: in-memory BGP sessions between the RouteEngines of many
 * nodes in one process, and the loop that delivers what they send.
 *
 * Each node has an inbox (the UPDATEs its peers wrote, in order per session). The loop takes one
 * node at a time, hands it its whole inbox, and waits until that node's engine is idle before the
 * next: a node's tables stay hot in the CPU cache while it works (interleaving a thousand engines
 * one UPDATE at a time spent most of the run on cache misses), and the time each node was busy is
 * measured on its own, which is what bounds convergence on a real cluster where nodes run in
 * parallel. Delivery order per session is FIFO, as on TCP. No timers, no per-message closures or
 * promises in the harness itself: the engines' own queues and yields are the only asynchrony.
 */
import type { CodecContext } from '../../proto/index.js';
import type { RouteEngine } from '../../daemon/rib/index.js';
import type { RibBridge } from '../../daemon/session/rib-bridge.js';
import type { CapabilitySummary, PeerIntent } from '../../daemon/model.js';
import type { SessionUp } from '../../daemon/session/engine.js';
import { monoMs } from './clock.js';

/** What the fabric needs of a node: its engine (to wait on), and the seam sessions feed. */
export interface FabricNode {
  readonly engine: RouteEngine;
  readonly seam: RibBridge;
}

/** Every simulated session negotiates the same thing: IPv4 unicast, 4-byte AS, no ADD-PATH. */
const CAPS: CapabilitySummary = { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: false, as4: true, llgr: false, extendedMessage: false };
const FAMILIES_4: readonly [4] = [4];
const CONTEXT: CodecContext = Object.freeze({
  as4: true,
  addPathRx: Object.freeze({ ipv4: false, ipv6: false }),
  addPathTx: Object.freeze({ ipv4: false, ipv6: false }),
  extendedMessage: false,
});

/** The two ends of one session, as each side's config sees it. */
export interface SessionEnd {
  readonly node: number;
  readonly intent: PeerIntent;
  readonly address: string;
  readonly routerId: string;
  readonly as: number;
}

/** Messages waiting for one node: parallel arrays (the receiving peer name, the UPDATE). */
interface Inbox {
  names: string[];
  messages: Uint8Array[];
  queued: boolean;
  /** Milliseconds this node's engine spent on what it was handed. */
  busyMs: number;
}

/** The Established view one side has of its session: what it writes lands in the other side's inbox. */
class SimSession implements SessionUp {
  readonly internal: boolean;
  open = true;
  // What every session shares lives on the prototype: a full mesh of 1,000 nodes has a million of these.
  get families(): readonly [4] {
    return FAMILIES_4;
  }
  get context(): CodecContext {
    return CONTEXT;
  }
  get localCaps(): CapabilitySummary {
    return CAPS;
  }
  get peerCaps(): CapabilitySummary {
    return CAPS;
  }
  get holdTime(): number {
    return 240;
  }

  constructor(
    private readonly fabric: SimFabric,
    readonly peer: PeerIntent,
    readonly neighborId: string,
    readonly peerAs: number,
    readonly localAddress: string,
    readonly remoteAddress: string,
    /** Receiving node, and the name its own config gives this session. */
    private readonly to: number,
    private readonly toName: string,
  ) {
    this.internal = peer.peerAs === peer.localAs;
  }

  send(update: Uint8Array): boolean {
    if (!this.open) return false;
    this.fabric.post(this.to, this.toName, update);
    return true;
  }

  reset(): void {
    this.open = false;
    this.fabric.resets++;
  }
}

export interface FabricProgress {
  readonly phase: 'peer-up' | 'deliver';
  readonly elapsedMs: number;
  /** peer-up: nodes whose sessions are all up. */
  readonly nodesDone: number;
  readonly delivered: number;
  readonly queued: number;
}

export class SimFabric {
  private readonly inboxes: Inbox[];
  /** Nodes with a non-empty inbox, in the order they became so. */
  private ready: number[] = [];
  /** Sessions recorded by connect(), per node, until upAll(). */
  private pending: SimSession[][];
  /** UPDATE messages (End-of-RIB included) written by every session, and their bytes. */
  updates = 0;
  bytes = 0;
  delivered = 0;
  resets = 0;

  constructor(private readonly nodes: readonly FabricNode[]) {
    this.inboxes = nodes.map(() => ({ names: [], messages: [], queued: false, busyMs: 0 }));
    this.pending = nodes.map(() => []);
  }

  post(to: number, name: string, message: Uint8Array): void {
    this.updates++;
    this.bytes += message.length;
    const box = this.inboxes[to]!;
    box.names.push(name);
    box.messages.push(message);
    if (!box.queued) {
      box.queued = true;
      this.ready.push(to);
    }
  }

  /** Records one session; both sides see it come up in upAll (no UPDATE is delivered before every session is up). */
  connect(a: SessionEnd, b: SessionEnd): void {
    this.pending[a.node]!.push(new SimSession(this, a.intent, b.routerId, b.as, a.address, b.address, b.node, b.intent.name));
    this.pending[b.node]!.push(new SimSession(this, b.intent, a.routerId, a.as, b.address, a.address, a.node, a.intent.name));
  }

  /**
   * Brings every recorded session up, node by node: each engine sends its table and End-of-RIB to
   * the inboxes, where it waits for run(). Semantically all sessions come up at once (t0).
   */
  async upAll(deadline: number, onProgress?: (p: FabricProgress) => void, progressEveryMs = 30_000): Promise<void> {
    const start = monoMs();
    let nextReport = start + progressEveryMs;
    for (let i = 0; i < this.nodes.length; i++) {
      const t = monoMs();
      if (t > deadline) throw new Error(`deadline passed while sessions were coming up (node ${i} of ${this.nodes.length})`);
      if (onProgress && t >= nextReport) {
        nextReport = t + progressEveryMs;
        onProgress({ phase: 'peer-up', elapsedMs: t - start, nodesDone: i, delivered: 0, queued: this.updates });
      }
      const node = this.nodes[i]!;
      for (const s of this.pending[i]!) node.seam.peerUp(s);
      this.pending[i] = [];
      await node.engine.settled();
      this.inboxes[i]!.busyMs += monoMs() - t;
    }
  }

  /**
   * Delivers until no node has anything to read and every engine is idle (quiescence: nothing in
   * flight anywhere). Throws past `deadline` (monotonic ms).
   */
  async run(deadline: number, onProgress?: (p: FabricProgress) => void, progressEveryMs = 30_000): Promise<void> {
    const start = monoMs();
    let nextReport = start + progressEveryMs;
    let head = 0;
    while (head < this.ready.length) {
      const i = this.ready[head++]!;
      if (head > 65_536 && head * 2 > this.ready.length) {
        this.ready = this.ready.slice(head);
        head = 0;
      }
      const box = this.inboxes[i]!;
      const { names, messages } = box;
      box.names = [];
      box.messages = [];
      box.queued = false;
      const t = monoMs();
      if (t > deadline) throw new Error(`not quiet by the deadline (${this.delivered} of ${this.updates} UPDATEs delivered)`);
      if (onProgress && t >= nextReport) {
        nextReport = t + progressEveryMs;
        onProgress({ phase: 'deliver', elapsedMs: t - start, nodesDone: 0, delivered: this.delivered, queued: this.updates - this.delivered });
      }
      const seam = this.nodes[i]!.seam;
      for (let k = 0; k < names.length; k++) seam.update(names[k]!, messages[k]!, CONTEXT);
      this.delivered += names.length;
      await this.nodes[i]!.engine.settled();
      box.busyMs += monoMs() - t;
    }
    this.ready = [];
  }

  /** Milliseconds each node's engine was busy (its share of the single thread). */
  busyMs(): number[] {
    return this.inboxes.map((b) => b.busyMs);
  }
}
