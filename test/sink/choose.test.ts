import { describe, expect, it } from 'vitest';
import { chooseSink, hasNetAdmin, KernelSink, MockSink, SinkUnavailableError } from '../../daemon/sink/index.js';

describe('choosing a sink', () => {
  it('reads CAP_NET_ADMIN from the effective capability set', () => {
    expect(hasNetAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasNetAdmin('Name:\tnode\nCapEff:\t0000000000000000\n')).toBe(false);
    expect(hasNetAdmin('CapEff:\t0000000000001000\n')).toBe(true);
  });
  it('uses the kernel when allowed; without the capability refuses unless the mock fallback was asked for', () => {
    expect(chooseSink({ kind: 'kernel', netAdmin: true }).sink).toBeInstanceOf(KernelSink);
    expect(() => chooseSink({ kind: 'kernel', netAdmin: false })).toThrow(SinkUnavailableError);
    const fb = chooseSink({ kind: 'kernel', netAdmin: false, fallbackToMock: true });
    expect(fb.sink).toBeInstanceOf(MockSink);
    expect(fb.warning).toMatch(/CAP_NET_ADMIN/);
    expect(chooseSink({ kind: 'mock' }).kind).toBe('mock');
  });
});
