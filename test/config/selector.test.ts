import { describe, expect, it } from 'vitest';
import { parseSelector, SelectorError } from '../../config/index.js';

const labels = { rack: 'r1', 'route-reflector': 'true', 'kubernetes.io/hostname': 'node-a', zone: 'eu-west-1a' };

describe('Calico selector language', () => {
  const cases: [string, boolean][] = [
    ['all()', true],
    ['', true],
    ['global()', true],
    ['has(rack)', true],
    ['has(missing)', false],
    ['!has(missing)', true],
    ["rack == 'r1'", true],
    ['rack == "r2"', false],
    ["rack != 'r2'", true],
    ["missing != 'x'", true],
    ["rack in {'r1', 'r2'}", true],
    ["rack in {'r3'}", false],
    ["rack not in {'r3'}", true],
    ["missing not in {'r3'}", true],
    ["rack == 'r1' && route-reflector == 'true'", true],
    ["rack == 'r2' || route-reflector == 'true'", true],
    ["!(rack == 'r1' && has(zone))", false],
    ["kubernetes.io/hostname == 'node-a'", true],
    ["zone starts with 'eu-'", true],
    ["zone ends with '1a'", true],
    ["zone contains 'west'", true],
    ["rack == 'r2' || rack == 'r3' && has(zone)", false],
    ["(rack == 'r2' || rack == 'r1') && has(zone)", true],
  ];
  for (const [src, want] of cases) {
    it(`${JSON.stringify(src)} → ${want}`, () => {
      expect(parseSelector(src).matches(labels)).toBe(want);
    });
  }

  it('rejects bad selectors with a position', () => {
    expect(() => parseSelector("rack == 'r1' &&")).toThrow(SelectorError);
    expect(() => parseSelector('rack = r1')).toThrow(/position/);
    expect(() => parseSelector("rack in {'a'")).toThrow(/expected '}'/);
    expect(() => parseSelector("(rack == 'a'")).toThrow(/expected '\)'/);
  });

  it('undefined labels behave as an empty map', () => {
    expect(parseSelector('all()').matches(undefined)).toBe(true);
    expect(parseSelector('has(a)').matches(undefined)).toBe(false);
  });
});
