/**
 * Live-session fuzzing on loopback. A target (Petrel's listener, peer manager and sessions, with
 * a route engine that decodes every UPDATE as the RIB adapter will) runs in this process with two
 * configured peers: the fuzzing peer, which completes OPEN/KEEPALIVE and then sends mutated
 * message streams, and a well-behaved witness peer that keeps its session up with KEEPALIVEs.
 *
 * For each stream a model (the codec's framer and decoder, plus the session's rules for each
 * message type in Established) predicts what Petrel must do: stay up (clean decode,
 * treat-as-withdraw, attribute-discard), reset with one exact NOTIFICATION, or close silently
 * after the peer's own NOTIFICATION. Staying up is confirmed with a probe (a ROUTE-REFRESH the
 * engine records) after everything before it was processed. Every disagreement is a finding;
 * so is the witness session leaving Established, or an exception escaping anywhere.
 */
import * as net from 'node:net';
import {
  BgpError,
  decodeMessage,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  MessageFramer,
  negotiateContext,
  toHex,
  type Capability,
  type CodecContext,
  type OpenMessage,
} from '../../proto/index.js';
import { pino } from 'pino';
import { BgpListener } from '../../daemon/listener.js';
import { silentLogger } from '../../daemon/log.js';
import type { NodeIntent, PeerIntent, PeerStatus } from '../../daemon/model.js';
import { PeerManager } from '../../daemon/peers.js';
import { RouteEngine as RibEngine } from '../../daemon/rib/index.js';
import type { RouteEngine, SessionUp } from '../../daemon/session/engine.js';
import { RibBridge } from '../../daemon/session/rib-bridge.js';
import { checkPeerOpen, negotiate, buildOpen } from '../../daemon/session/negotiate.js';
import { applyMutations, randomMutations } from './mutate.js';
import { MockSink } from '../../daemon/sink/index.js';
import { generateCase } from './generate.js';
import { pick, XorShift32, type Rand } from './rng.js';
import { allSeeds, ctxName, type Seed } from './seeds.js';

export const LOCAL_AS = 64512;
export const TARGET_ROUTER_ID = '10.255.0.1';

// ---------------------------------------------------------------- the target

/**
 * A route engine that decodes every UPDATE (session-reset errors reset the session) and counts
 * what it saw, per peer; with `inner` (the daemon's RibBridge over the real RIB) every call is
 * passed on too, so hostile UPDATEs also reach route selection, policy and the sink.
 */
export class DecodingEngine implements RouteEngine {
  constructor(private readonly inner?: RouteEngine) {}

  readonly updates = new Map<string, number>();
  readonly treatAsWithdraw = new Map<string, number>();
  readonly refreshes = new Map<string, Uint8Array[]>();
  readonly ups: SessionUp[] = [];
  readonly downs: string[] = [];
  /** Exceptions other than BgpError out of the decoder (each is a finding). */
  readonly crashes: string[] = [];

  peerUp(up: SessionUp): void {
    this.ups.push(up);
    this.inner?.peerUp(up);
  }

  update(peer: string, message: Uint8Array, context: CodecContext): void {
    this.updates.set(peer, (this.updates.get(peer) ?? 0) + 1);
    try {
      const m = decodeMessage(message, context);
      if (m.type === 'UPDATE' && m.treatAsWithdraw) this.treatAsWithdraw.set(peer, (this.treatAsWithdraw.get(peer) ?? 0) + 1);
    } catch (e) {
      if (!(e instanceof BgpError)) this.crashes.push(`${peer}: ${e instanceof Error ? e.stack : String(e)} on ${toHex(message)}`);
      throw e;
    }
    try {
      this.inner?.update(peer, message, context);
    } catch (e) {
      if (!(e instanceof BgpError)) this.crashes.push(`${peer}: route engine threw ${e instanceof Error ? e.stack : String(e)} on ${toHex(message)}`);
      throw e;
    }
  }

  routeRefresh(peer: string, message: Uint8Array): void {
    let list = this.refreshes.get(peer);
    if (!list) this.refreshes.set(peer, (list = []));
    list.push(message.slice());
    if (list.length > 1000) list.splice(0, 500);
    this.inner?.routeRefresh?.(peer, message);
  }

  peerDown(peer: string, reason: string): void {
    this.downs.push(peer);
    this.inner?.peerDown(peer, reason);
  }
}

export interface TargetOptions {
  /** Address the target listens on (default 127.0.0.1). */
  host?: string;
  peers: PeerIntent[];
  extendedMessage?: boolean;
  /** Put the daemon's RibBridge and RIB (with a mock sink) behind the decoding engine. */
  rib?: boolean;
}

/** A node as the RIB needs it: Calico defaults, one pool, one own block, no peers (the peer manager has them). */
export function fuzzNodeIntent(): NodeIntent {
  return {
    nodeName: 'fuzz-target',
    routerId: TARGET_ROUTER_ID,
    localAs: LOCAL_AS,
    ipv4Address: '127.0.0.1',
    ipv4Network: '127.0.0.0/8',
    listenPort: 179,
    logLevel: 'info',
    peers: [],
    pools: [{ name: 'pool', cidr: '10.244.0.0/16', family: 4, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, disabled: false, disableBGPExport: false }],
    ownBlocks: ['10.244.1.0/26'],
    borrowed: [],
    serviceRoutes: [],
    rejectCidrs: [],
  };
}

/** Petrel's session layer in this process: one listener, one peer manager, a decoding engine. */
export class LiveTarget {
  private constructor(
    readonly engine: DecodingEngine,
    readonly listener: BgpListener,
    readonly peers: PeerManager,
    readonly port: number,
    /** Error-level log lines of the RIB side (each is a finding: the engine failed on some input). */
    readonly ribErrors: string[],
    /** The RIB behind the session, when started with `rib: true`. */
    readonly rib: RibEngine | undefined,
  ) {}

  static async start(o: TargetOptions): Promise<LiveTarget> {
    const ribErrors: string[] = [];
    let inner: RouteEngine | undefined;
    let rib: RibEngine | undefined;
    if (o.rib) {
      const errLog = pino({ level: 'error' }, { write: (line: string) => void ribErrors.push(line) });
      rib = new RibEngine({ intent: fuzzNodeIntent(), sink: new MockSink(), log: errLog });
      inner = new RibBridge(rib, errLog);
    }
    const engine = new DecodingEngine(inner);
    const log = silentLogger();
    const peers = new PeerManager({ local: { routerId: TARGET_ROUTER_ID, extendedMessage: o.extendedMessage ?? false }, engine, log });
    const listener = new BgpListener({ host: o.host ?? '127.0.0.1', port: 0 }, (s, src) => peers.route(s, src), log);
    const bound = await listener.listen();
    const t = new LiveTarget(engine, listener, peers, bound.port, ribErrors, rib);
    await peers.apply(o.peers);
    return t;
  }

  status(peerIp: string): PeerStatus | undefined {
    return this.peers.statuses().find((s) => s.peerIp === peerIp);
  }

  async close(): Promise<void> {
    await this.peers.stopAll();
    await this.listener.close();
  }
}

/** A passive mesh peer on loopback with fast error recovery (so the fuzzer can reconnect at once). */
export function livePeerIntent(peerIp: string, o: Partial<PeerIntent> = {}): PeerIntent {
  return {
    name: `Fuzz_${peerIp.replace(/[.:]/g, '_')}`,
    kind: 'mesh',
    family: 4,
    peerIp,
    peerPort: 179,
    peerAs: LOCAL_AS,
    localAs: LOCAL_AS,
    passive: true,
    holdTime: 240,
    connectDelayTime: 0,
    connectRetryTime: 5,
    errorWaitTime: [0.01, 0.02],
    gracefulRestartTime: 120,
    keepOriginalNextHop: false,
    maxPrefixesAction: 'reset',
    rrClient: false,
    families: [4, 6],
    ...o,
  };
}

// ---------------------------------------------------------------- waiting without sleeping

/** Resolves once `cond` holds, checking after every turn of the event loop (and at least every 2 ms); rejects after `ms`. */
export function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(check, 2);
    };
    check();
  });
}

// ---------------------------------------------------------------- a scripted peer

/** The client side of one TCP connection: writes what it is told, frames and keeps what it receives. */
export class WirePeer {
  readonly received: Uint8Array[] = [];
  closed = false;
  private readonly framer = new MessageFramer({ extendedMessage: true });

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.framer.push(new Uint8Array(c));
      try {
        for (let m = this.framer.next(); m; m = this.framer.next()) this.received.push(m.slice());
      } catch {
        socket.destroy();
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static connect(host: string, port: number, from: string): Promise<WirePeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, localAddress: from });
      s.once('connect', () => resolve(new WirePeer(s)));
      s.once('error', reject);
    });
  }

  send(b: Uint8Array): void {
    if (!this.closed && this.socket.writable) this.socket.write(b);
  }

  types(): number[] {
    return this.received.map((m) => m[18] ?? 0);
  }

  notifications(): { code: number; subcode: number; data: string }[] {
    return this.received.filter((m) => m[18] === 3).map((m) => ({ code: m[19] ?? 0, subcode: m[20] ?? 0, data: toHex(m.subarray(21)) }));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Capability sets the fuzzing peer offers, one per connection; each gives another codec context. */
export const OFFERS: readonly { name: string; caps: Capability[] }[] = [
  { name: 'as4', caps: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'as4', asn: LOCAL_AS }] },
  {
    name: 'addpath',
    caps: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'as4', asn: LOCAL_AS },
      { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 3 }] },
    ],
  },
  { name: 'extended', caps: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'as4', asn: LOCAL_AS }, { kind: 'extendedMessage' }] },
  { name: 'as2', caps: [{ kind: 'multiprotocol', afi: 1, safi: 1 }] },
];

export interface Established {
  peer: WirePeer;
  ctx: CodecContext;
  petrelOpen: OpenMessage;
}

/**
 * Connects from `from` and completes OPEN/KEEPALIVE. A connection refused during Petrel's error
 * wait is retried once the peer is back to waiting for a connection.
 */
export async function establish(target: LiveTarget, from: string, caps: Capability[], holdTime = 240, bgpId = '10.255.0.2'): Promise<Established> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await waitUntil(`${from} waiting for a connection`, () => target.status(from)?.bgpState === 'Passive');
    const peer = await WirePeer.connect('127.0.0.1', target.port, from);
    await waitUntil(`OPEN or close from Petrel for ${from}`, () => peer.received.length > 0 || peer.closed);
    const first = peer.received[0];
    if (!first || first[18] !== 1) {
      peer.destroy();
      continue;
    }
    const petrelOpen = decodeOpen(first);
    const ours = { version: 4, myAs: LOCAL_AS, holdTime, bgpId, capabilities: caps };
    peer.send(encodeOpen(ours));
    peer.send(encodeKeepalive());
    await waitUntil(`KEEPALIVE from Petrel for ${from}`, () => peer.types().includes(4) || peer.closed);
    if (peer.closed) throw new Error(`Petrel closed the session with ${from} during OPEN: ${JSON.stringify(peer.notifications())}`);
    await waitUntil(`${from} Established`, () => target.status(from)?.bgpState === 'Established');
    return { peer, ctx: negotiateContext(petrelOpen, { capabilities: caps }), petrelOpen };
  }
  throw new Error(`could not establish a session from ${from}`);
}

// ---------------------------------------------------------------- the model

export type Expectation =
  | { kind: 'alive'; updates: number }
  | { kind: 'reset'; code: number; subcode: number; data: string; updates: number; why: string }
  | { kind: 'silent-close'; updates: number; why: string };

/** The NOTIFICATION Petrel owes for `msg` (one whole message) in Established, or null when it stays up. */
function judgeInEstablished(msg: Uint8Array, ctx: CodecContext): Expectation | 'update' | null {
  const type = msg[18] ?? 0;
  switch (type) {
    case 1:
      return { kind: 'reset', code: 5, subcode: 3, data: '', updates: 0, why: 'OPEN in Established' };
    case 3:
      return { kind: 'silent-close', updates: 0, why: 'NOTIFICATION from the peer' };
    case 4:
      return null;
    default:
      try {
        // UPDATE: decoded by the engine; ROUTE-REFRESH: a bad length is 7/1 with the message as data (RFC 7313 §5).
        decodeMessage(msg, ctx);
        return type === 2 ? 'update' : null;
      } catch (e) {
        if (!(e instanceof BgpError)) throw e;
        return { kind: 'reset', code: e.code, subcode: e.subcode, data: toHex(e.data), updates: type === 2 ? 1 : 0, why: e.message };
      }
  }
}

/** How many zero bytes complete the unfinished message at the end of `leftover` (header first, then its length). */
function padFor(leftover: Uint8Array): number {
  if (leftover.length < 19) return 19 - leftover.length;
  const len = ((leftover[16] ?? 0) << 8) | (leftover[17] ?? 0);
  return Math.max(0, len - leftover.length);
}

export interface Prediction {
  expect: Expectation;
  /** Zero bytes that complete an unfinished last message, so that the session is in step again. */
  pad: Uint8Array;
  /** Where the message that ends the session ends in stream + pad (the whole length when it stays up). */
  end: number;
  /** The session ends on an UPDATE error: Petrel raises those after the rest of the same read (see known.ts). */
  endsOnUpdateError: boolean;
}

/** Predicts the outcome of `stream` on an established session with `ctx`. */
export function predict(stream: Uint8Array, ctx: CodecContext): Prediction {
  const f = new MessageFramer({ extendedMessage: ctx.extendedMessage });
  f.push(stream);
  let updates = 0;
  let padLen = 0;
  let consumed = 0;
  for (;;) {
    let msg: Uint8Array | null;
    try {
      msg = f.next();
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      const expect: Expectation = { kind: 'reset', code: e.code, subcode: e.subcode, data: toHex(e.data), updates, why: e.message };
      return { expect, pad: new Uint8Array(padLen), end: stream.length + padLen, endsOnUpdateError: false };
    }
    if (!msg) {
      if (f.bufferedBytes === 0) break;
      // The framer holds an unfinished message: complete it with zeros (judged like any other).
      const leftover = new Uint8Array(f.bufferedBytes);
      const all = new Uint8Array(stream.length + padLen);
      all.set(stream);
      leftover.set(all.subarray(all.length - f.bufferedBytes));
      const more = padFor(leftover);
      f.push(new Uint8Array(more));
      padLen += more;
      continue;
    }
    consumed += msg.length;
    const j = judgeInEstablished(msg, ctx);
    if (j === null) continue;
    if (j === 'update') updates++;
    else return { expect: { ...j, updates: updates + j.updates }, pad: new Uint8Array(padLen), end: consumed, endsOnUpdateError: (msg[18] ?? 0) === 2 };
  }
  return { expect: { kind: 'alive', updates }, pad: new Uint8Array(padLen), end: stream.length + padLen, endsOnUpdateError: false };
}

// ---------------------------------------------------------------- the run

export interface LiveRunOptions {
  streams: number;
  seed: number;
  corpusDir?: string;
  log?: (line: string) => void;
  /** Addresses of the fuzzing and the witness peer (127/8). */
  fuzzIp?: string;
  witnessIp?: string;
  /** The witness's hold time: Petrel must keep answering within it throughout. */
  witnessHoldTime?: number;
  /**
   * 'report' (default) sends every stream whole. 'avoid' stops a stream right after a malformed
   * UPDATE that ends the session, so the known session-layer issue (the rest of the same read is
   * still processed before the UPDATE's NOTIFICATION, see the fuzz report) does not repeat itself.
   */
  knownIssues?: 'report' | 'avoid';
  /** Run the daemon's RIB behind the session (RibBridge, route selection, policy, mock sink). */
  rib?: boolean;
}

export interface LiveRunStats {
  streams: number;
  messages: number;
  resets: number;
  reconnects: number;
  alive: number;
  treatAsWithdraw: number;
  elapsedMs: number;
  witnessStayedUp: boolean;
  notifications: Map<string, number>;
  findings: string[];
}

/** Seeds weighted for a live session: UPDATEs mostly, the other types now and then. */
function liveSeeds(all: readonly Seed[]): Seed[] {
  const updates = all.filter((s) => s.bytes[18] === 2);
  const others = all.filter((s) => s.bytes[18] !== 2);
  return [...updates, ...updates, ...updates, ...others];
}

function countMessages(stream: Uint8Array): number {
  let n = 0;
  for (let o = 0; o + 19 <= stream.length; n++) {
    const len = ((stream[o + 16] ?? 0) << 8) | (stream[o + 17] ?? 0);
    o += Math.max(19, len);
  }
  return Math.max(1, n);
}

export async function runLiveFuzz(o: LiveRunOptions): Promise<LiveRunStats> {
  const fuzzIp = o.fuzzIp ?? '127.0.0.2';
  const witnessIp = o.witnessIp ?? '127.0.0.3';
  const log = o.log ?? (() => {});
  const r: Rand = new XorShift32(o.seed);
  const seeds = liveSeeds(allSeeds(o.corpusDir));
  const s: LiveRunStats = {
    streams: 0,
    messages: 0,
    resets: 0,
    reconnects: 0,
    alive: 0,
    treatAsWithdraw: 0,
    elapsedMs: 0,
    witnessStayedUp: true,
    notifications: new Map(),
    findings: [],
  };
  const uncaught = (e: unknown) => s.findings.push(`uncaught exception in the target: ${e instanceof Error ? e.stack : String(e)}`);
  process.on('uncaughtException', uncaught);
  const target = await LiveTarget.start({
    extendedMessage: true,
    rib: o.rib ?? false,
    peers: [livePeerIntent(fuzzIp), livePeerIntent(witnessIp, { holdTime: o.witnessHoldTime ?? 6 })],
  });
  const fuzzName = target.status(fuzzIp)?.name ?? '';
  const t0 = performance.now();
  const witness = await establish(target, witnessIp, OFFERS[0]?.caps ?? [], o.witnessHoldTime ?? 6, '10.255.0.3');
  const keepWitnessUp = setInterval(() => witness.peer.send(encodeKeepalive()), 1000);
  let session: Established | undefined;
  let probeId = 0;
  try {
    for (let i = 0; i < o.streams; i++) {
      if (!session || session.peer.closed) {
        session?.peer.destroy();
        const offer = pick(r, OFFERS);
        session = await establish(target, fuzzIp, offer.caps);
        s.reconnects++;
      }
      const c = generateCase(r, seeds);
      const { expect: want, pad, end, endsOnUpdateError } = predict(c.stream, session.ctx);
      let bytes = new Uint8Array(c.stream.length + pad.length);
      bytes.set(c.stream);
      if (endsOnUpdateError && o.knownIssues === 'avoid') bytes = bytes.subarray(0, end);
      const updatesBefore = target.engine.updates.get(fuzzName) ?? 0;
      const twBefore = target.engine.treatAsWithdraw.get(fuzzName) ?? 0;
      const sentBefore = session.peer.received.length;
      let o2 = 0;
      for (const size of [...c.chunks, pad.length]) {
        if (o2 >= bytes.length) break;
        session.peer.send(bytes.subarray(o2, o2 + size));
        o2 += size;
      }
      s.streams++;
      s.messages += countMessages(c.stream);
      const label = () => `ctx ${ctxName(session?.ctx ?? c.ctx)} stream ${toHex(c.stream).slice(0, 600)}${pad.length ? ` + ${pad.length} zero bytes` : ''}`;
      if (want.kind === 'alive') {
        const id = 0x4000 + (probeId++ % 0x3fff);
        session.peer.send(encodeRouteRefresh(id, 0xee, 0));
        const seen = () => (target.engine.refreshes.get(fuzzName) ?? []).some((m) => ((m[19] ?? 0) << 8) + (m[20] ?? 0) === id && m[22] === 0xee);
        try {
          await waitUntil('the probe', () => seen() || session?.peer.closed === true);
        } catch {
          s.findings.push(`probe never reached the engine (hang?): ${label()}`);
          session.peer.destroy();
          continue;
        }
        const got = session.peer.notifications();
        if (session.peer.closed || got.length > 0) {
          s.findings.push(`expected the session to stay up, got ${JSON.stringify(got)} closed=${session.peer.closed}: ${label()}`);
          continue;
        }
        const processed = (target.engine.updates.get(fuzzName) ?? 0) - updatesBefore;
        if (processed !== want.updates) s.findings.push(`expected ${want.updates} UPDATEs processed, engine saw ${processed}: ${label()}`);
        s.treatAsWithdraw += (target.engine.treatAsWithdraw.get(fuzzName) ?? 0) - twBefore;
        s.alive++;
      } else {
        try {
          await waitUntil('the session to close', () => session?.peer.closed === true);
        } catch {
          s.findings.push(`expected ${want.kind} (${want.why}), the session stayed open: ${label()}`);
          session.peer.destroy();
          continue;
        }
        const got = session.peer.received.slice(sentBefore).filter((m) => m[18] === 3);
        const seen = got.map((m) => ({ code: m[19] ?? 0, subcode: m[20] ?? 0, data: toHex(m.subarray(21)) }));
        if (want.kind === 'reset') {
          s.resets++;
          const key = `${want.code}/${want.subcode}`;
          s.notifications.set(key, (s.notifications.get(key) ?? 0) + 1);
          const first = seen[0];
          if (seen.length !== 1 || !first || first.code !== want.code || first.subcode !== want.subcode || first.data !== want.data)
            s.findings.push(`expected NOTIFICATION ${want.code}/${want.subcode} data '${want.data}' (${want.why}), got ${JSON.stringify(seen)}: ${label()}`);
        } else if (seen.length > 0) s.findings.push(`expected a silent close (${want.why}), got ${JSON.stringify(seen)}: ${label()}`);
      }
      const w = target.status(witnessIp);
      if (witness.peer.closed || w?.bgpState !== 'Established' || witness.peer.notifications().length > 0) {
        s.witnessStayedUp = false;
        s.findings.push(`witness session left Established (${w?.bgpState}, ${JSON.stringify(witness.peer.notifications())}) after: ${label()}`);
        break;
      }
      if (s.streams % 1000 === 0) log(`  live: ${s.streams} streams, ${s.resets} resets, ${s.findings.length} findings`);
    }
  } finally {
    clearInterval(keepWitnessUp);
    for (const c of target.engine.crashes) s.findings.push(`decoder crash in the engine: ${c}`);
    for (const e of target.ribErrors) s.findings.push(`route engine error: ${e.slice(0, 500)}`);
    session?.peer.destroy();
    witness.peer.destroy();
    await target.close();
    process.off('uncaughtException', uncaught);
    s.elapsedMs = performance.now() - t0;
  }
  return s;
}

// ---------------------------------------------------------------- OPEN fuzzing

/** What Petrel owes a peer whose first message (Petrel in OpenSent) is `msg`: a KEEPALIVE (OPEN accepted) or a NOTIFICATION. */
export function predictOpen(msg: Uint8Array, intent: PeerIntent): { kind: 'accept' } | { kind: 'reset'; code: number; subcode: number; data: string; why: string } | { kind: 'silent-close' } {
  const f = new MessageFramer({ extendedMessage: false });
  f.push(msg);
  const reset = (e: BgpError) => ({ kind: 'reset' as const, code: e.code, subcode: e.subcode, data: toHex(e.data), why: e.message });
  try {
    const m = f.next();
    if (!m) throw new Error('predictOpen wants one whole message');
    const type = m[18] ?? 0;
    if (type === 3) return { kind: 'silent-close' };
    if (type !== 1) return { kind: 'reset', code: 5, subcode: 1, data: '', why: 'not an OPEN in OpenSent' };
    const open = decodeOpen(m);
    const local = { routerId: TARGET_ROUTER_ID, extendedMessage: true };
    checkPeerOpen(intent, local, open);
    negotiate(intent, buildOpen(intent, local).open, open);
    return { kind: 'accept' };
  } catch (e) {
    if (e instanceof BgpError) return reset(e);
    throw e;
  }
}

export interface OpenRunStats {
  opens: number;
  accepted: number;
  resets: number;
  notifications: Map<string, number>;
  findings: string[];
}

/** Sends `count` mutated OPENs (one per connection) and checks each answer against predictOpen. */
export async function runOpenFuzz(o: { count: number; seed: number; fuzzIp?: string }): Promise<OpenRunStats> {
  const fuzzIp = o.fuzzIp ?? '127.0.0.2';
  const r = new XorShift32(o.seed);
  const intent = livePeerIntent(fuzzIp);
  const seeds = [
    ...OFFERS.map((x) => encodeOpen({ version: 4, myAs: LOCAL_AS, holdTime: 90, bgpId: '10.255.0.2', capabilities: x.caps })),
    ...allSeeds().filter((x) => x.bytes[18] === 1).map((x) => x.bytes),
    encodeKeepalive(),
  ];
  const s: OpenRunStats = { opens: 0, accepted: 0, resets: 0, notifications: new Map(), findings: [] };
  const target = await LiveTarget.start({ extendedMessage: true, peers: [intent] });
  try {
    for (let i = 0; i < o.count; i++) {
      let msg = applyMutations(pick(r, seeds), r.int(6) === 0 ? [] : randomMutations(r));
      // One whole message: complete a short one with zeros, drop anything after the first.
      const len = msg.length >= 19 ? ((msg[16] ?? 0) << 8) | (msg[17] ?? 0) : 19;
      if (len >= 19 && len <= 4096 && msg.length !== len) {
        const whole = new Uint8Array(len);
        whole.set(msg.subarray(0, len));
        msg = whole;
      } else if (msg.length < 19) {
        const whole = new Uint8Array(19);
        whole.set(msg);
        msg = whole;
      }
      const want = predictOpen(msg.length >= 19 && msg.length <= 4096 ? msg : msg.subarray(0, 19), intent);
      await waitUntil('Passive', () => target.status(fuzzIp)?.bgpState === 'Passive');
      const peer = await WirePeer.connect('127.0.0.1', target.port, fuzzIp);
      await waitUntil("Petrel's OPEN", () => peer.received.length > 0 || peer.closed);
      if (peer.closed) {
        peer.destroy();
        i--;
        continue;
      }
      peer.send(msg);
      s.opens++;
      const label = `OPEN ${toHex(msg).slice(0, 400)}`;
      await waitUntil('an answer', () => peer.closed || peer.types().slice(1).includes(4), 5000).catch(() => s.findings.push(`no answer to ${label}`));
      const notes = peer.notifications();
      if (want.kind === 'accept') {
        if (peer.closed || notes.length > 0) s.findings.push(`expected the OPEN to be accepted, got ${JSON.stringify(notes)}: ${label}`);
        else s.accepted++;
      } else if (want.kind === 'silent-close') {
        if (notes.length > 0) s.findings.push(`expected a silent close, got ${JSON.stringify(notes)}: ${label}`);
      } else {
        s.resets++;
        const key = `${want.code}/${want.subcode}`;
        s.notifications.set(key, (s.notifications.get(key) ?? 0) + 1);
        const n = notes[0];
        if (notes.length !== 1 || !n || n.code !== want.code || n.subcode !== want.subcode || n.data !== want.data)
          s.findings.push(`expected ${key} data '${want.data}' (${want.why}), got ${JSON.stringify(notes)}: ${label}`);
      }
      peer.destroy();
    }
  } finally {
    await target.close();
  }
  return s;
}

/** Convenience for tests: a one-off NOTIFICATION from the peer side. */
export function notification(code: number, subcode: number, data?: Uint8Array): Uint8Array {
  return encodeNotification(code, subcode, data);
}
