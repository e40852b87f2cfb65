import { describe, expect, it } from 'vitest';
import {
  formatIpv6, formatPrefix4, parseIpv4, parseIpv6, parsePrefix4, parsePrefix6, prefix4FromKey, prefix4Key, prefix4Within,
  PrefixParseError, familyOf,
} from '../../proto/prefix.js';

describe('IPv4 prefixes', () => {
  it('parses and formats addresses and prefixes', () => {
    expect(parseIpv4('10.244.151.0')).toBe(0x0af49700);
    expect(formatPrefix4(parseIpv4('10.244.151.0'), 26)).toBe('10.244.151.0/26');
    expect(parsePrefix4('10.48.2.8/29')).toEqual({ addr: parseIpv4('10.48.2.8'), len: 29 });
    expect(parsePrefix4('255.255.255.255/32').addr).toBe(0xffffffff);
  });
  it('rejects host bits and junk', () => {
    expect(() => parsePrefix4('10.0.0.1/24')).toThrow(PrefixParseError);
    expect(parsePrefix4('10.0.0.1/24', false)).toEqual({ addr: parseIpv4('10.0.0.0'), len: 24 });
    expect(() => parseIpv4('10.0.0.256')).toThrow(PrefixParseError);
    expect(() => parsePrefix4('10.0.0.0/33')).toThrow(PrefixParseError);
  });
  it('packs prefixes into one key and back', () => {
    const key = prefix4Key(0xffffffc0, 26);
    expect(Number.isSafeInteger(key)).toBe(true);
    expect(prefix4FromKey(key)).toEqual({ addr: 0xffffffc0, len: 26 });
  });
  it('tests containment', () => {
    const block = parsePrefix4('10.244.0.64/26');
    expect(prefix4Within(parseIpv4('10.244.0.65'), 32, block.addr, block.len)).toBe(true);
    expect(prefix4Within(parseIpv4('10.244.0.128'), 32, block.addr, block.len)).toBe(false);
    expect(prefix4Within(block.addr, 24, block.addr, block.len)).toBe(false);
  });
});

describe('IPv6 prefixes', () => {
  it('formats canonically (RFC 5952)', () => {
    expect(formatIpv6(parseIpv6('2001:0db8:0:0:0:0:0:1'))).toBe('2001:db8::1');
    expect(formatIpv6(parseIpv6('fd80:24e2:f998:72d7::2'))).toBe('fd80:24e2:f998:72d7::2');
    expect(formatIpv6(parseIpv6('::'))).toBe('::');
    expect(formatIpv6(parseIpv6('2001:db8:0:1:0:0:0:1'))).toBe('2001:db8:0:1::1');
    expect(formatIpv6(parseIpv6('::ffff:10.0.0.1'))).toBe('::ffff:a00:1');
  });
  it('parses prefixes and rejects host bits', () => {
    expect(parsePrefix6('fd00::/122').len).toBe(122);
    expect(() => parsePrefix6('fd00::1/64')).toThrow(PrefixParseError);
    expect(() => parseIpv6('1::2::3')).toThrow(PrefixParseError);
  });
  it('tells families apart', () => {
    expect(familyOf('10.0.0.0/8')).toBe(4);
    expect(familyOf('fd00::1')).toBe(6);
    expect(() => familyOf('nope')).toThrow(PrefixParseError);
  });
});
