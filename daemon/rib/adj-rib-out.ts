/**
 * What this node has told each peer, and what it still has to tell it.
 *
 * Every prefix exported to any peer gets a slot in one ExportIndex shared by all Adj-RIB-Outs:
 * the engine looks a changed prefix up once, and each peer's Adj-RIB-Out is then a typed array
 * indexed by that slot, so exporting a prefix to ten peers costs one hash lookup and ten array
 * writes. The value at a slot is the exported attribute-set id, signed:
 *   id > 0          announced, and the peer has been told;
 *   -id < 0         announced, the peer still has to be told (pending);
 *   WITHDRAW_PENDING withdrawn, the peer still has to be told;
 *   0               nothing.
 * A slot becomes pending once however often it changes before the next drain (its latest state
 * is what gets sent), and the order in which slots became pending is kept in a plain list. A
 * drain groups them by attribute set: one UPDATE carries many prefixes, and withdrawals travel
 * together.
 */
import type { Family } from '../model.js';
import type { PrefixKey } from './keys.js';
import { PrefixMap } from './prefix-map.js';

/** Reference counts of the attribute sets an Adj-RIB-Out holds (its peer's ExportClass). */
export interface AttrRefs {
  ref(id: number): void;
  release(id: number): void;
}

const NOTHING = 0;
const WITHDRAW_PENDING = -0x80000000;

export interface OutBatch {
  /** Per family: exported attribute-set id → prefixes announced with it, in the order they changed. */
  readonly announce: Map<Family, Map<number, PrefixKey[]>>;
  readonly withdraw: Map<Family, PrefixKey[]>;
  readonly size: number;
  /** The pending slots drained and their values then: another Adj-RIB-Out can check it had the same (drainIfSame). */
  readonly drained: { readonly slots: readonly number[]; readonly values: readonly number[] };
}

/**
 * Slots for the prefixes that some Adj-RIB-Out holds (announced, or a change pending). A slot is
 * freed when no Adj-RIB-Out holds anything at it any more, and then reused.
 */
export class ExportIndex {
  private readonly slots = new PrefixMap(1024);
  /** The key of each slot; NaN for IPv6 slots, whose keys are in keys6. */
  private keys4 = new Float64Array(1024);
  private readonly keys6 = new Map<number, string>();
  /** How many Adj-RIB-Outs hold something at each slot. */
  private users = new Int32Array(1024);
  private free: number[] = [];
  private next = 0;

  /** Slots in use. */
  get size(): number {
    return this.slots.size;
  }

  /** Length an Adj-RIB-Out's slot array needs. */
  get capacity(): number {
    return this.users.length;
  }

  /** One past the highest slot ever handed out: every slot from here on has always been empty. */
  get highWater(): number {
    return this.next;
  }

  /** The slot of `key`, made if needed; pair with releaseIfUnused once done with it. */
  acquire(key: PrefixKey): number {
    const s = this.slots.get(key);
    if (s !== undefined) return s;
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.next === this.users.length) this.grow();
      slot = this.next++;
    }
    this.slots.set(key, slot);
    if (typeof key === 'number') this.keys4[slot] = key;
    else {
      this.keys4[slot] = NaN;
      this.keys6.set(slot, key);
    }
    this.users[slot] = 0;
    return slot;
  }

  /** The slot of `key`, or -1. */
  slotOf(key: PrefixKey): number {
    return this.slots.get(key) ?? -1;
  }

  keyAt(slot: number): PrefixKey {
    const k = this.keys4[slot]!;
    return k === k ? k : this.keys6.get(slot)!;
  }

  /** Frees `slot` when no Adj-RIB-Out holds anything there. */
  releaseIfUnused(slot: number): void {
    if (this.users[slot] !== 0) return;
    const key = this.keyAt(slot);
    if (typeof key === 'string') this.keys6.delete(slot);
    // A freed slot's key becomes NaN so keyAt of a stale slot can never name another prefix.
    this.keys4[slot] = NaN;
    this.slots.delete(key);
    this.free.push(slot);
  }

  /** An Adj-RIB-Out starts (+1) or stops (-1) holding something at `slot`. */
  use(slot: number, delta: number): void {
    this.users[slot] = this.users[slot]! + delta;
  }

  private grow(): void {
    const n = this.users.length * 2;
    const keys = new Float64Array(n);
    keys.set(this.keys4);
    this.keys4 = keys;
    const users = new Int32Array(n);
    users.set(this.users);
    this.users = users;
  }
}

export class AdjRibOut {
  private state: Int32Array;
  /** Slots with a pending change, each once, in the order they first changed. */
  private pending: number[] = [];
  /** Prefixes announced (told or not): the size of the Adj-RIB-Out proper. */
  private announced = 0;

  constructor(
    private readonly store: AttrRefs,
    private readonly index: ExportIndex,
    state?: Int32Array,
  ) {
    this.state = state ?? new Int32Array(index.capacity);
  }

  get size(): number {
    return this.announced;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** The exported attribute-set id of `key`, or undefined when it is not announced. */
  get(key: PrefixKey): number | undefined {
    const slot = this.index.slotOf(key);
    const v = slot < 0 || slot >= this.state.length ? NOTHING : this.state[slot]!;
    return v === NOTHING || v === WITHDRAW_PENDING ? undefined : v < 0 ? -v : v;
  }

  /** Records that `key` should now be announced with `attrId` (taking a reference); false when unchanged. */
  announce(key: PrefixKey, attrId: number): boolean {
    const slot = this.index.acquire(key);
    const changed = this.announceAt(slot, attrId);
    this.index.releaseIfUnused(slot);
    return changed;
  }

  /** Records that `key` should be withdrawn; false when it was not announced. */
  withdraw(key: PrefixKey): boolean {
    const slot = this.index.slotOf(key);
    return slot >= 0 && this.withdrawAt(slot);
  }

  /** announce() for a slot of the shared index (see ExportIndex.acquire). */
  announceAt(slot: number, attrId: number): boolean {
    if (slot >= this.state.length) this.grow();
    const prev = this.state[slot]!;
    if (prev === attrId || prev === -attrId) return false;
    this.state[slot] = -attrId;
    this.store.ref(attrId);
    this.announced++;
    if (prev === NOTHING) {
      this.index.use(slot, 1);
      this.pending.push(slot);
    } else if (prev !== WITHDRAW_PENDING) {
      this.announced--;
      this.store.release(prev < 0 ? -prev : prev);
      if (prev > 0) this.pending.push(slot);
    }
    return true;
  }

  /** withdraw() for a slot of the shared index. */
  withdrawAt(slot: number): boolean {
    if (slot >= this.state.length) return false;
    const prev = this.state[slot]!;
    if (prev === NOTHING || prev === WITHDRAW_PENDING) return false;
    this.announced--;
    this.store.release(prev < 0 ? -prev : prev);
    this.state[slot] = WITHDRAW_PENDING;
    if (prev > 0) this.pending.push(slot);
    return true;
  }

  /** Queues every announced route again (ROUTE-REFRESH from the peer). */
  resendAll(): void {
    const st = this.state;
    const end = Math.min(st.length, this.index.highWater);
    for (let slot = 0; slot < end; slot++) {
      const v = st[slot]!;
      if (v > 0) {
        st[slot] = -v;
        this.pending.push(slot);
      }
    }
  }

  /** Takes every pending change, grouped for encoding. */
  drain(): OutBatch {
    const announce = new Map<Family, Map<number, PrefixKey[]>>();
    const withdraw = new Map<Family, PrefixKey[]>();
    const slots = this.pending;
    this.pending = [];
    const st = this.state;
    const index = this.index;
    const values: number[] = new Array<number>(slots.length);
    for (let i = 0; i < slots.length; i++) values[i] = st[slots[i]!]!;
    // IPv4, the common case, without a Map lookup per prefix for the family; families keep the
    // order in which they first appear, as attribute sets do.
    let byAttr4: Map<number, PrefixKey[]> | undefined;
    let withdraw4: PrefixKey[] | undefined;
    let lastId = 0;
    let lastList: PrefixKey[] | undefined;
    let size = 0;
    for (const slot of slots) {
      const v = st[slot]!;
      if (v >= 0) continue;
      size++;
      const key = index.keyAt(slot);
      if (v === WITHDRAW_PENDING) {
        st[slot] = NOTHING;
        index.use(slot, -1);
        index.releaseIfUnused(slot);
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
      st[slot] = id;
      if (id === lastId && typeof key === 'number') {
        lastList!.push(key);
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
      } else lastId = 0;
    }
    return { announce, withdraw, size, drained: { slots, values } };
  }

  /**
   * When this Adj-RIB-Out's pending changes are exactly those `batch` was drained from (same
   * slots, same order, same values), takes them as drained and returns true: the peer gets the
   * same UPDATEs as the one drained, with no batch built. Otherwise changes nothing.
   */
  drainIfSame(batch: OutBatch): boolean {
    const { slots, values } = batch.drained;
    const pending = this.pending;
    const st = this.state;
    if (pending.length !== slots.length) return false;
    for (let i = 0; i < pending.length; i++) {
      const slot = pending[i]!;
      if (slot !== slots[i] || st[slot] !== values[i]) return false;
    }
    this.pending = [];
    for (const slot of pending) {
      const v = st[slot]!;
      if (v >= 0) continue;
      if (v === WITHDRAW_PENDING) {
        st[slot] = NOTHING;
        this.index.use(slot, -1);
        this.index.releaseIfUnused(slot);
      } else st[slot] = -v;
    }
    return true;
  }

  /**
   * A copy with the same state, pending changes and order (its own references and slot uses): a
   * peer that shared its class's Adj-RIB-Out and now needs one of its own.
   */
  clone(): AdjRibOut {
    const st = this.state.slice();
    const c = new AdjRibOut(this.store, this.index, st);
    c.pending = this.pending.slice();
    c.announced = this.announced;
    // Slots past the index's high-water mark were never used (the arrays are sized for capacity).
    const end = Math.min(st.length, this.index.highWater);
    for (let slot = 0; slot < end; slot++) {
      const v = st[slot]!;
      if (v === NOTHING) continue;
      this.index.use(slot, 1);
      if (v !== WITHDRAW_PENDING) this.store.ref(v < 0 ? -v : v);
    }
    return c;
  }

  /** Drops everything (session gone), releasing references. */
  clear(): void {
    const st = this.state;
    const end = Math.min(st.length, this.index.highWater);
    for (let slot = 0; slot < end; slot++) {
      const v = st[slot]!;
      if (v === NOTHING) continue;
      if (v !== WITHDRAW_PENDING) this.store.release(v < 0 ? -v : v);
      st[slot] = NOTHING;
      this.index.use(slot, -1);
      this.index.releaseIfUnused(slot);
    }
    this.pending = [];
    this.announced = 0;
  }

  /** The prefixes announced (told or not). */
  *keys(): Iterable<PrefixKey> {
    const st = this.state;
    const end = Math.min(st.length, this.index.highWater);
    for (let slot = 0; slot < end; slot++) {
      const v = st[slot]!;
      if (v !== NOTHING && v !== WITHDRAW_PENDING) yield this.index.keyAt(slot);
    }
  }

  private grow(): void {
    const st = new Int32Array(this.index.capacity);
    st.set(this.state);
    this.state = st;
  }
}
