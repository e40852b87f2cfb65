/**
 * What this node has told one peer, and what it still has to tell it.
 *
 * One PrefixMap holds both. Its value per prefix is the exported attribute-set id, signed:
 *   id > 0   announced, and the peer has been told;
 *   -id < 0  announced, the peer still has to be told (pending);
 *   0        withdrawn, the peer still has to be told (the entry goes once drained).
 * A prefix becomes pending once however often it changes before the next drain (its latest
 * state is what gets sent), and the order in which prefixes became pending is kept in a plain
 * list, so a burst of changes costs one hash update per change and a drain walks only the
 * changed prefixes (no second map to clear after every UPDATE). A drain groups them by
 * attribute set: one UPDATE carries many prefixes, and withdrawals travel together.
 */
import type { Family } from '../model.js';
import type { AttrStore } from './attrs.js';
import type { PrefixKey } from './keys.js';
import { PrefixMap } from './prefix-map.js';

const WITHDRAW = 0;

export interface OutBatch {
  /** Per family: exported attribute-set id → prefixes announced with it, in the order they changed. */
  readonly announce: Map<Family, Map<number, PrefixKey[]>>;
  readonly withdraw: Map<Family, PrefixKey[]>;
  readonly size: number;
}

export class AdjRibOut {
  private readonly table = new PrefixMap();
  /** Prefixes with a pending change, each once, in the order they first changed. */
  private pending: PrefixKey[] = [];
  /** Prefixes announced (told or not): the Adj-RIB-Out proper. */
  private announced = 0;

  constructor(private readonly store: AttrStore) {}

  get size(): number {
    return this.announced;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** The exported attribute-set id of `key`, or undefined when it is not announced. */
  get(key: PrefixKey): number | undefined {
    const v = this.table.get(key);
    return v === undefined || v === WITHDRAW ? undefined : v < 0 ? -v : v;
  }

  /** Records that `key` should now be announced with `attrId` (taking a reference); false when unchanged. */
  announce(key: PrefixKey, attrId: number): boolean {
    const prev = this.table.set(key, -attrId);
    if (prev === undefined || prev === WITHDRAW) {
      this.announced++;
      this.store.ref(attrId);
      if (prev === undefined) this.pending.push(key);
      return true;
    }
    if (prev === attrId || prev === -attrId) {
      // Unchanged: put back the told/untold state it had.
      if (prev > 0) this.table.set(key, prev);
      return false;
    }
    this.store.ref(attrId);
    this.store.release(prev < 0 ? -prev : prev);
    if (prev > 0) this.pending.push(key);
    return true;
  }

  /** Records that `key` should be withdrawn; false when it was not announced. */
  withdraw(key: PrefixKey): boolean {
    const prev = this.table.get(key);
    if (prev === undefined || prev === WITHDRAW) return false;
    this.announced--;
    this.store.release(prev < 0 ? -prev : prev);
    this.table.set(key, WITHDRAW);
    if (prev > 0) this.pending.push(key);
    return true;
  }

  /** Queues every announced route again (ROUTE-REFRESH from the peer). */
  resendAll(): void {
    this.table.forEach((v, key) => {
      if (v > 0) {
        this.table.set(key, -v);
        this.pending.push(key);
      }
    });
  }

  /** Takes every pending change, grouped for encoding. */
  drain(): OutBatch {
    const announce = new Map<Family, Map<number, PrefixKey[]>>();
    const withdraw = new Map<Family, PrefixKey[]>();
    const keys = this.pending;
    this.pending = [];
    // IPv4, the common case, without a Map lookup per prefix for the family; families keep the
    // order in which they first appear, as attribute sets do.
    let byAttr4: Map<number, PrefixKey[]> | undefined;
    let withdraw4: PrefixKey[] | undefined;
    let lastId = 0;
    let lastList: PrefixKey[] | undefined;
    let size = 0;
    for (const key of keys) {
      const v = this.table.get(key);
      if (v === undefined || v > 0) continue;
      size++;
      if (v === WITHDRAW) {
        this.table.delete(key);
        let list: PrefixKey[] | undefined;
        if (typeof key === 'number') {
          if (!withdraw4) withdraw.set(4, (withdraw4 = []));
          list = withdraw4;
        } else {
          list = withdraw.get(6);
          if (!list) withdraw.set(6, (list = []));
        }
        list.push(key);
        continue;
      }
      const id = -v;
      this.table.set(key, id);
      if (typeof key === 'number' && id === lastId && lastList) {
        lastList.push(key);
        continue;
      }
      let byAttr: Map<number, PrefixKey[]> | undefined;
      if (typeof key === 'number') {
        if (!byAttr4) announce.set(4, (byAttr4 = new Map()));
        byAttr = byAttr4;
      } else {
        byAttr = announce.get(6);
        if (!byAttr) announce.set(6, (byAttr = new Map()));
      }
      let list = byAttr.get(id);
      if (!list) byAttr.set(id, (list = []));
      list.push(key);
      if (typeof key === 'number') {
        lastId = id;
        lastList = list;
      }
    }
    return { announce, withdraw, size };
  }

  /** Drops everything (session gone), releasing references. */
  clear(): void {
    this.table.forEach((v) => {
      if (v !== WITHDRAW) this.store.release(v < 0 ? -v : v);
    });
    this.table.clear();
    this.pending = [];
    this.announced = 0;
  }

  /** The prefixes announced (told or not). */
  *keys(): Iterable<PrefixKey> {
    for (const [key, v] of this.table.entries()) if (v !== WITHDRAW) yield key;
  }
}

function sameKeys(a: readonly PrefixKey[], b: readonly PrefixKey[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two drained batches hold the same changes in the same order: peers of one export class
 * that got the same changes can then share one encoding (checking costs far less than encoding).
 */
export function sameBatch(a: OutBatch, b: OutBatch): boolean {
  if (a.size !== b.size || a.withdraw.size !== b.withdraw.size || a.announce.size !== b.announce.size) return false;
  for (const [family, keys] of a.withdraw) {
    const other = b.withdraw.get(family);
    if (!other || !sameKeys(keys, other)) return false;
  }
  for (const [family, byAttr] of a.announce) {
    const other = b.announce.get(family);
    if (!other || other.size !== byAttr.size) return false;
    const it = other.entries();
    for (const [id, keys] of byAttr) {
      const o = it.next();
      if (o.done || o.value[0] !== id || !sameKeys(keys, o.value[1])) return false;
    }
  }
  return true;
}
