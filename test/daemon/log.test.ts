/** The daemon's JSON logger: pino's line format and call shapes, levels, redaction. */
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../daemon/log.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { log, lines };
}

describe('daemon logger', () => {
  it('writes pino-shaped lines: level number, time, pid, name, bindings, fields, msg', () => {
    const { log, lines } = capture('info');
    log.child({ peer: 'Mesh_10_0_0_2' }).info({ from: 'Idle', to: 'Active' }, 'state change');
    log.warn('plain %s %d', 'text', 7);
    log.info({ only: true });
    expect(lines[0]).toMatchObject({ level: 30, pid: process.pid, name: 'petrel', peer: 'Mesh_10_0_0_2', from: 'Idle', to: 'Active', msg: 'state change' });
    expect(Object.keys(lines[0]!).slice(0, 4)).toEqual(['level', 'time', 'pid', 'name']);
    expect(typeof lines[0]!.time).toBe('number');
    expect(lines[1]).toMatchObject({ level: 40, msg: 'plain text 7' });
    expect(lines[2]).not.toHaveProperty('msg');
  });

  it('filters by level, accepts Calico words, and rejects unknown levels', () => {
    const warn = capture('Warning');
    warn.log.info('dropped');
    warn.log.debug('dropped');
    warn.log.error('kept');
    expect(warn.lines.map((l) => l.msg)).toEqual(['kept']);
    expect(warn.log.isLevelEnabled('info')).toBe(false);
    const none = capture('none');
    none.log.fatal('dropped');
    expect(none.lines).toEqual([]);
    expect(() => createLogger('loud')).toThrow('unknown log level');
    expect(() => silentLogger().error('nothing')).not.toThrow();
  });

  it('redacts passwords at the top level, one level down and in bindings; serialises errors and odd values', () => {
    const { log, lines } = capture('trace');
    log.child({ password: 'c' }).info({ password: 'a', intent: { peerIp: '10.0.0.1', password: 'b' } }, 'peer');
    const boom = Object.assign(new Error('boom'), { code: 'ECONNREFUSED' });
    log.error(boom);
    log.error({ err: boom, n: 10n }, 'failed');
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    log.trace({ loop }, 'circular');
    expect(lines[0]).toMatchObject({ password: '[redacted]', intent: { peerIp: '10.0.0.1', password: '[redacted]' } });
    expect(JSON.stringify(lines[0])).not.toMatch(/"[abc]"/);
    expect(lines[1]).toMatchObject({ level: 50, msg: 'boom', err: { type: 'Error', message: 'boom', code: 'ECONNREFUSED' } });
    expect(lines[2]).toMatchObject({ msg: 'failed', n: '10', err: { message: 'boom' } });
    expect(lines[3]).toMatchObject({ level: 10, loop: { a: 1, self: '[Circular]' } });
  });
});
