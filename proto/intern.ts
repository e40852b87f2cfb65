/**
 * Interning of attribute sets: identical sets (after decoding) share one small integer id and one
 * object, so a RIB stores (prefix, set id) and the encoder reuses one encoding per set.
 */
import { encodeAttributeParts, type PathAttributes } from './attributes.js';

/** A canonical key: the 4-octet-AS encoding of the set plus the next hops that live outside it. */
export function attributeKey(a: PathAttributes): string {
  const e = encodeAttributeParts(a, true);
  let s = '';
  for (const x of e.below) s += String.fromCharCode(x);
  s += '|';
  for (const x of e.above) s += String.fromCharCode(x);
  // IPv6 next hops are not in the attribute bytes (they ride in MP_REACH_NLRI).
  if (a.nextHop?.includes(':')) s += `|${a.nextHop}`;
  if (a.nextHopLinkLocal) s += `|${a.nextHopLinkLocal}`;
  return s;
}

/** A table of distinct attribute sets; ids are dense from 0. */
export class AttributeTable {
  private readonly ids = new Map<string, number>();
  private readonly sets: PathAttributes[] = [];

  /** The id of an equal set already held, or a new id for this one (the object is then kept; do not mutate it). */
  intern(a: PathAttributes): number {
    const key = attributeKey(a);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(a);
      this.ids.set(key, id);
    }
    return id;
  }

  get(id: number): PathAttributes | undefined {
    return this.sets[id];
  }

  get size(): number {
    return this.sets.length;
  }
}

const shared = new AttributeTable();

/** Interns into a process-wide table (use an own AttributeTable for anything with a lifetime). */
export function internAttributes(a: PathAttributes, table: AttributeTable = shared): number {
  return table.intern(a);
}

export function attributesById(id: number, table: AttributeTable = shared): PathAttributes | undefined {
  return table.get(id);
}
