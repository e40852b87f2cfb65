/**
 * What this node has told one peer, and what it still has to tell it.
 *
 * `sent` is the Adj-RIB-Out proper (prefix → exported attribute-set id). Changes go to `pending`
 * first, coalesced per prefix, so a burst of changes becomes one batch grouped by attribute set:
 * one UPDATE carries many prefixes, and withdrawals travel together.
 */
import type { Family } from '../model.js';
import type { AttrStore } from './attrs.js';
import { familyOfKey, type PrefixKey } from './keys.js';
import { PrefixMap } from './prefix-map.js';

const WITHDRAW = 0;

export interface OutBatch {
  /** Per family: exported attribute-set id → prefixes announced with it. */
  readonly announce: Map<Family, Map<number, PrefixKey[]>>;
  readonly withdraw: Map<Family, PrefixKey[]>;
  readonly size: number;
}

export class AdjRibOut {
  private readonly sent = new PrefixMap();
  private readonly pending = new PrefixMap();

  constructor(private readonly store: AttrStore) {}

  get size(): number {
    return this.sent.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get(key: PrefixKey): number | undefined {
    return this.sent.get(key);
  }

  /** Records that `key` should now be announced with `attrId` (taking a reference); false when unchanged. */
  announce(key: PrefixKey, attrId: number): boolean {
    const prev = this.sent.set(key, attrId);
    if (prev === attrId) return false;
    this.store.ref(attrId);
    if (prev !== undefined) this.store.release(prev);
    this.pending.set(key, attrId);
    return true;
  }

  /** Records that `key` should be withdrawn; false when it was not announced. */
  withdraw(key: PrefixKey): boolean {
    const prev = this.sent.delete(key);
    if (prev === undefined) return false;
    this.store.release(prev);
    this.pending.set(key, WITHDRAW);
    return true;
  }

  /** Queues every announced route again (ROUTE-REFRESH from the peer). */
  resendAll(): void {
    this.sent.forEach((id, key) => this.pending.set(key, id));
  }

  /** Takes every pending change, grouped for encoding. */
  drain(): OutBatch {
    const announce = new Map<Family, Map<number, PrefixKey[]>>();
    const withdraw = new Map<Family, PrefixKey[]>();
    this.pending.forEach((attrId, key) => {
      const family = familyOfKey(key);
      if (attrId === WITHDRAW) {
        let list = withdraw.get(family);
        if (!list) withdraw.set(family, (list = []));
        list.push(key);
        return;
      }
      let byAttr = announce.get(family);
      if (!byAttr) announce.set(family, (byAttr = new Map()));
      let list = byAttr.get(attrId);
      if (!list) byAttr.set(attrId, (list = []));
      list.push(key);
    });
    const size = this.pending.size;
    this.pending.clear();
    return { announce, withdraw, size };
  }

  /** Drops everything (session gone), releasing references. */
  clear(): void {
    this.sent.forEach((id) => this.store.release(id));
    this.sent.clear();
    this.pending.clear();
  }

  keys(): Iterable<PrefixKey> {
    return this.sent.keys();
  }
}
