/** Graceful-restart decisions (daemon/gr/decisions.ts): retention, purge on return, End-of-RIB, recovery. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeEndOfRib, encodeUpdates } from '../../proto/index.js';
import { endOfRibFamily, familiesToPurgeOnReturn, peerGrOf, recoveryDone, retainedFamilies, sessionEndOf, type PeerGr } from '../../daemon/gr/index.js';
import { packKeys, cidrToKey } from '../../daemon/rib/keys.js';
import { attrs } from '../rib/helpers.js';

const gr = (over: Partial<PeerGr> = {}): PeerGr => ({ restartTime: 120, families: [4, 6], preserved: [4, 6], notification: false, ...over });

describe('retainedFamilies', () => {
  it('keeps the routes of a GR peer whose TCP session failed, for the families it restarts for', () => {
    expect(retainedFamilies(gr(), false, { kind: 'transport' }, [4])).toEqual([4]);
    expect(retainedFamilies(gr({ families: [6] }), false, { kind: 'transport' }, [4, 6])).toEqual([6]);
  });

  it('keeps nothing for a peer without GR, a restart-aware-only peer, or a zero restart time', () => {
    expect(retainedFamilies(undefined, false, { kind: 'transport' }, [4])).toEqual([]);
    expect(retainedFamilies(gr({ families: [] }), false, { kind: 'transport' }, [4])).toEqual([]);
    expect(retainedFamilies(gr({ restartTime: 0 }), false, { kind: 'transport' }, [4])).toEqual([]);
  });

  it('a NOTIFICATION ends GR unless both sides set the N bit, and Hard Reset always does', () => {
    const n = { kind: 'notification' as const, code: 4, subcode: 0 };
    expect(retainedFamilies(gr(), false, n, [4])).toEqual([]);
    expect(retainedFamilies(gr({ notification: true }), false, n, [4])).toEqual([]);
    expect(retainedFamilies(gr(), true, n, [4])).toEqual([]);
    expect(retainedFamilies(gr({ notification: true }), true, n, [4])).toEqual([4]);
    expect(retainedFamilies(gr({ notification: true }), true, { kind: 'notification', code: 6, subcode: 9 }, [4])).toEqual([]);
  });

  it('our own stop (shutdown, de-configured) never retains', () => {
    expect(retainedFamilies(gr({ notification: true }), true, { kind: 'local-stop' }, [4])).toEqual([]);
  });

  it('maps the FSM events the session reports', () => {
    expect(sessionEndOf('TcpConnectionFails')).toEqual({ kind: 'transport' });
    expect(sessionEndOf('HoldTimer_Expires').kind).toBe('notification');
    expect(sessionEndOf('NotifMsg').kind).toBe('notification');
    expect(sessionEndOf('ManualStop').kind).toBe('local-stop');
    expect(sessionEndOf('AutomaticStop').kind).toBe('local-stop');
  });
});

describe('familiesToPurgeOnReturn', () => {
  it('purges at once what the returned peer did not preserve or no longer restarts for', () => {
    expect(familiesToPurgeOnReturn([4, 6], gr())).toEqual([]);
    expect(familiesToPurgeOnReturn([4, 6], gr({ preserved: [6] }))).toEqual([4]);
    expect(familiesToPurgeOnReturn([4, 6], gr({ families: [4], preserved: [4] }))).toEqual([6]);
    expect(familiesToPurgeOnReturn([4], undefined)).toEqual([4]);
  });
});

describe('peerGrOf', () => {
  it('reads the negotiated capability summary', () => {
    const caps = { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: true, as4: true, llgr: false, extendedMessage: false, gracefulRestart: { restartTime: 90, families: ['ipv4', 'ipv6'], preserved: ['ipv4'], restarting: true } };
    expect(peerGrOf(caps)).toEqual({ restartTime: 90, families: [4, 6], preserved: [4], notification: false });
    expect(peerGrOf({ ...caps, gracefulRestart: undefined })).toBeUndefined();
  });
});

describe('endOfRibFamily', () => {
  it('recognises the codec\'s End-of-RIB markers for IPv4 and IPv6', () => {
    expect(endOfRibFamily(encodeEndOfRib(1, 1))).toBe(4);
    expect(endOfRibFamily(encodeEndOfRib(2, 1))).toBe(6);
  });

  it('recognises an MP_UNREACH End-of-RIB written with an extended length', () => {
    const m = new Uint8Array([...new Uint8Array(16).fill(0xff), 0, 30, 2, 0, 0, 0, 7, 0x90, 15, 0, 3, 0, 2, 1]);
    expect(endOfRibFamily(m)).toBe(6);
  });

  it('is undefined for real UPDATEs and other messages', () => {
    const [u] = encodeUpdates(attrs() as never, 1, packKeys(4, [cidrToKey('10.1.0.0/24')]), { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false });
    expect(endOfRibFamily(u!)).toBeUndefined();
    const keepalive = new Uint8Array([...new Uint8Array(16).fill(0xff), 0, 19, 4]);
    expect(endOfRibFamily(keepalive)).toBeUndefined();
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const r = endOfRibFamily(b);
      expect(r === undefined || r === 4 || r === 6).toBe(true);
    }));
  });
});

describe('recoveryDone', () => {
  it('waits for every peer\'s End-of-RIB, bounded by the deferral time', () => {
    expect(recoveryDone({ pending: new Set(['a']), elapsed: 5, deferral: 120 })).toBeUndefined();
    expect(recoveryDone({ pending: new Set(), elapsed: 5, deferral: 120 })).toBe('end-of-rib');
    expect(recoveryDone({ pending: new Set(['a']), elapsed: 120, deferral: 120 })).toBe('deferral-timeout');
  });
});
