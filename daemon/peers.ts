/**
 * The peer manager: the set of running PeerSessions, kept in line with the wanted PeerIntent[]
 * with the least disturbance (BIRD's reconfigure): new peers start, removed peers get Cease 6/3,
 * peers whose transport or identity changed are reset with Cease 6/6, all others are untouched
 * (their uptime and counters survive).
 */
import type * as net from 'node:net';
import type { Logger } from './log.js';
import type { PeerIntent, PeerStatus } from './model.js';
import type { RouteEngine } from './session/engine.js';
import type { LocalSpeaker } from './session/negotiate.js';
import { PeerSession, type PeerSessionDeps } from './session/peer.js';
import type { Random } from './session/timers.js';

export const CEASE_PEER_DECONFIGURED = 3;
export const CEASE_OTHER_CONFIGURATION_CHANGE = 6;

/** Fields whose change means the running session no longer matches: reset it. */
const RESET_FIELDS = [
  'kind',
  'family',
  'peerIp',
  'peerPort',
  'peerAs',
  'localAs',
  'sourceAddress',
  'passive',
  'holdTime',
  'keepaliveTime',
  'gracefulRestartTime',
  'password',
  'ttlSecurity',
  'rrClient',
  'rrClusterId',
  'families',
] as const satisfies readonly (keyof PeerIntent)[];

export function needsReset(running: PeerIntent, wanted: PeerIntent): boolean {
  return RESET_FIELDS.some((f) => JSON.stringify(running[f]) !== JSON.stringify(wanted[f]));
}

export interface PeerDiff {
  readonly added: PeerIntent[];
  readonly removed: PeerIntent[];
  /** Transport or identity changed: Cease 6/6 and start again. */
  readonly reset: PeerIntent[];
  /** Only settings that apply without a reset changed. */
  readonly updated: PeerIntent[];
  readonly unchanged: PeerIntent[];
}

/** Peers are matched by their protocol name (which encodes kind, address and port). Pure. */
export function diffPeers(running: readonly PeerIntent[], wanted: readonly PeerIntent[]): PeerDiff {
  const before = new Map(running.map((p) => [p.name, p]));
  const after = new Map(wanted.map((p) => [p.name, p]));
  const diff: PeerDiff = { added: [], removed: [], reset: [], updated: [], unchanged: [] };
  for (const [name, w] of after) {
    const r = before.get(name);
    if (!r) diff.added.push(w);
    else if (needsReset(r, w)) diff.reset.push(w);
    else if (JSON.stringify(r) !== JSON.stringify(w)) diff.updated.push(w);
    else diff.unchanged.push(w);
  }
  for (const [name, r] of before) if (!after.has(name)) diff.removed.push(r);
  return diff;
}

export interface PeerManagerDeps {
  local: LocalSpeaker;
  readonly engine: RouteEngine;
  readonly log: Logger;
  readonly random?: Random;
  /** Outgoing connections (tests); net.connect by default. */
  readonly connect?: PeerSessionDeps['connect'];
  /** Seconds since the daemon started; the peers of the first apply count their connect delay from then. */
  readonly uptimeSeconds?: () => number;
}

export class PeerManager {
  private readonly sessions = new Map<string, PeerSession>();
  private stopped = false;
  private firstApply = true;

  constructor(private readonly deps: PeerManagerDeps) {}

  /** Brings the running peers in line with `wanted`; resolves when removed/reset peers have sent their Cease. */
  async apply(wanted: readonly PeerIntent[]): Promise<PeerDiff> {
    const running = [...this.sessions.values()].map((s) => s.peerIntent);
    const diff = diffPeers(running, wanted);
    const stops: Promise<void>[] = [];
    for (const p of diff.removed) {
      const s = this.sessions.get(p.name);
      this.sessions.delete(p.name);
      if (s) stops.push(s.stop(CEASE_PEER_DECONFIGURED, 'peer de-configured'));
    }
    for (const p of diff.reset) {
      const s = this.sessions.get(p.name);
      if (s) stops.push(s.stop(CEASE_OTHER_CONFIGURATION_CHANGE, 'configuration changed'));
      this.startSession(p);
    }
    for (const p of diff.updated) this.sessions.get(p.name)?.updateIntent(p);
    const spent = this.firstApply ? this.deps.uptimeSeconds?.() : undefined;
    this.firstApply = false;
    for (const p of diff.added) this.startSession(p, spent);
    if (diff.added.length + diff.removed.length + diff.reset.length + diff.updated.length > 0) {
      this.deps.log.info(
        { added: names(diff.added), removed: names(diff.removed), reset: names(diff.reset), updated: names(diff.updated), unchanged: diff.unchanged.length },
        'peers reconfigured',
      );
    }
    await Promise.all(stops);
    return diff;
  }

  /** A new local identity (router id, hostname): every session must renegotiate. */
  async setLocal(local: LocalSpeaker): Promise<void> {
    if (JSON.stringify(local) === JSON.stringify(this.deps.local)) return;
    this.deps.local = local;
    const intents = [...this.sessions.values()].map((s) => s.peerIntent);
    const stops = [...this.sessions.values()].map((s) => s.stop(CEASE_OTHER_CONFIGURATION_CHANGE, 'local identity changed'));
    this.sessions.clear();
    for (const p of intents) this.startSession(p);
    await Promise.all(stops);
  }

  /** Offers an incoming connection to the peer with that source address. */
  route(socket: net.Socket, source: string): 'accepted' | 'refused' | 'unknown' {
    if (this.stopped) return 'unknown';
    for (const s of this.sessions.values()) {
      if (s.peerIntent.peerIp === source) return s.accept(socket) ? 'accepted' : 'refused';
    }
    return 'unknown';
  }

  /** Control-socket actions on one peer; undefined when there is no such peer. */
  disable(name: string, message?: string): Promise<'done' | 'already'> | undefined {
    return this.sessions.get(name)?.disable(message);
  }

  enable(name: string): 'done' | 'already' | undefined {
    return this.sessions.get(name)?.enable();
  }

  restart(name: string): Promise<void> | undefined {
    return this.sessions.get(name)?.restart();
  }

  sessionsInOrder(): PeerSession[] {
    return [...this.sessions.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): PeerSession | undefined {
    return this.sessions.get(name);
  }

  statuses(): PeerStatus[] {
    return [...this.sessions.values()].map((s) => s.status()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stops every peer with Cease `subcode` (6/2 on shutdown). */
  async stopAll(subcode = 2): Promise<void> {
    this.stopped = true;
    const all = [...this.sessions.values()];
    await Promise.all(all.map((s) => s.stop(subcode, subcode === 2 ? 'administrative shutdown' : 'stopping')));
  }

  /** Graceful restart: every session closes without a NOTIFICATION (peers keep our routes). */
  abandonAll(): void {
    this.stopped = true;
    for (const s of this.sessions.values()) s.abandon();
  }

  private startSession(p: PeerIntent, connectDelaySpent?: number): void {
    const s = new PeerSession(p, {
      local: this.deps.local,
      engine: this.deps.engine,
      log: this.deps.log,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      ...(this.deps.connect ? { connect: this.deps.connect } : {}),
      ...(connectDelaySpent !== undefined ? { connectDelaySpent } : {}),
    });
    this.sessions.set(p.name, s);
    if (!this.stopped) s.start();
  }
}

function names(ps: readonly PeerIntent[]): string[] {
  return ps.map((p) => p.name);
}
