/** The difference between two intents: what a reload must start, stop, reset, announce and withdraw. */
import type { NodeIntent, PeerIntent } from '../daemon/model.js';

export interface IntentDiff {
  readonly peersAdded: PeerIntent[];
  readonly peersRemoved: PeerIntent[];
  /** Same protocol name, different settings: reset that session only (Cease 6/6). */
  readonly peersChanged: { readonly old: PeerIntent; readonly next: PeerIntent; readonly fields: string[] }[];
  readonly peersUnchanged: PeerIntent[];
  readonly blocksAdded: string[];
  readonly blocksRemoved: string[];
  readonly borrowedAdded: string[];
  readonly borrowedRemoved: string[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Fields of two peer intents that differ (every field is transport or identity for a BGP session). */
export function changedPeerFields(a: PeerIntent, b: PeerIntent): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !same((a as unknown as Record<string, unknown>)[k], (b as unknown as Record<string, unknown>)[k])).sort();
}

function setDiff(a: readonly string[], b: readonly string[]): string[] {
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
}

export function diffIntent(old: NodeIntent, next: NodeIntent): IntentDiff {
  const before = new Map(old.peers.map((p) => [p.name, p]));
  const after = new Map(next.peers.map((p) => [p.name, p]));
  const d: IntentDiff = {
    peersAdded: next.peers.filter((p) => !before.has(p.name)),
    peersRemoved: old.peers.filter((p) => !after.has(p.name)),
    peersChanged: [],
    peersUnchanged: [],
    blocksAdded: setDiff(next.ownBlocks, old.ownBlocks),
    blocksRemoved: setDiff(old.ownBlocks, next.ownBlocks),
    borrowedAdded: setDiff(next.borrowed, old.borrowed),
    borrowedRemoved: setDiff(old.borrowed, next.borrowed),
  };
  for (const p of next.peers) {
    const o = before.get(p.name);
    if (!o) continue;
    const fields = changedPeerFields(o, p);
    if (fields.length > 0) d.peersChanged.push({ old: o, next: p, fields });
    else d.peersUnchanged.push(p);
  }
  return d;
}
