import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PrefixMap } from '../../daemon/rib/prefix-map.js';
import { cidrToKey } from '../../daemon/rib/keys.js';

describe('PrefixMap', () => {
  it('behaves as a Map of prefix keys (add4 included), iteration order included', () => {
    const op = fc.record({
      kind: fc.constantFrom('set', 'delete', 'get', 'add'),
      // Few distinct keys so sets, deletes and re-inserts collide; some IPv6 keys mixed in.
      v6: fc.boolean(),
      n: fc.integer({ min: 0, max: 300 }),
      len: fc.integer({ min: 0, max: 32 }),
      value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const m = new PrefixMap(16);
        const ref = new Map<number | string, number>();
        for (const o of ops) {
          const key = o.v6 ? `v6-${o.n % 20}` : (((o.n * 0x01000100) >>> 0) * 64 + o.len);
          if (o.kind === 'add') {
            // add4: an IPv4 key the caller found absent.
            if (o.v6 || ref.has(key)) continue;
            m.add4((o.n * 0x01000100) >>> 0, o.len, o.value);
            ref.set(key, o.value);
          } else if (o.kind === 'set') {
            expect(m.set(key, o.value)).toBe(ref.get(key));
            ref.set(key, o.value);
          } else if (o.kind === 'delete') {
            expect(m.delete(key)).toBe(ref.get(key));
            ref.delete(key);
          } else expect(m.get(key)).toBe(ref.get(key));
          expect(m.size).toBe(ref.size);
        }
        expect([...m.entries()]).toEqual([...ref.entries()]);
        expect([...m.keys()]).toEqual([...ref.keys()]);
      }),
      { numRuns: 200 },
    );
  });

  it('holds many IPv4 prefixes across resizes and clears', () => {
    const m = new PrefixMap();
    for (let i = 0; i < 50_000; i++) m.set4(((i + 65536) * 256) >>> 0, 24, i);
    expect(m.size).toBe(50_000);
    expect(m.get(cidrToKey('1.0.0.0/24'))).toBe(0);
    expect(m.get(cidrToKey('1.0.0.0/25'))).toBeUndefined();
    for (let i = 0; i < 50_000; i += 2) expect(m.delete4(((i + 65536) * 256) >>> 0, 24)).toBe(i);
    expect(m.size).toBe(25_000);
    expect([...m.values()].slice(0, 3)).toEqual([1, 3, 5]);
    m.clear();
    expect(m.size).toBe(0);
    expect([...m.keys()]).toEqual([]);
    m.set(cidrToKey('10.0.0.0/8'), 7);
    expect([...m.entries()]).toEqual([[cidrToKey('10.0.0.0/8'), 7]]);
  });

  it('clears a large map by its used buckets and keeps working', () => {
    const m = new PrefixMap();
    for (let i = 0; i < 20_000; i++) m.set4((i * 256) >>> 0, 24, i);
    m.clear();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) m.set4((i * 256) >>> 0, 24, round);
      m.set(`v6-${round}`, round);
      expect(m.get4(256 * 9, 24)).toBe(round);
      expect(m.get4(256 * 10, 24)).toBeUndefined();
      expect(m.size).toBe(11);
      m.clear();
      expect(m.get4(0, 24)).toBeUndefined();
      expect(m.has(`v6-${round}`)).toBe(false);
    }
  });
});
