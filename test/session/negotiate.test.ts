import { describe, expect, it } from 'vitest';
import { BgpError } from '../../proto/errors.js';
import { decodeOpen, type OpenMessage } from '../../proto/open.js';
import { buildOpen, checkPeerOpen, localCapabilities, negotiate, summarise } from '../../daemon/session/negotiate.js';
import { diffPeers, needsReset } from '../../daemon/peers.js';
import { peerIntent } from './helpers.js';

const local = { routerId: '10.0.0.1', hostname: 'node-a' };

function theirOpen(o: Partial<OpenMessage> = {}): OpenMessage {
  return { type: 'OPEN', version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.2', capabilities: [{ kind: 'as4', asn: 64512 }], as4: 64512, ...o };
}

describe('what petrel advertises (as Calico’s BIRD)', () => {
  it('MP, route refresh, GR with restart time, AS4, ADD-PATH rx/tx, enhanced refresh, LLGR, hostname', () => {
    const caps = localCapabilities(peerIntent('10.0.0.2', { gracefulRestartTime: 120 }), local);
    expect(caps.map((c) => c.kind)).toEqual(['multiprotocol', 'routeRefresh', 'gracefulRestart', 'as4', 'addPath', 'enhancedRouteRefresh', 'llgr', 'fqdn']);
    const s = summarise(caps);
    expect(s).toMatchObject({ multiprotocol: ['ipv4'], routeRefresh: true, as4: true, enhancedRefresh: true, llgr: true, extendedMessage: false, hostname: 'node-a' });
    expect(s.gracefulRestart).toEqual({ restartTime: 120, families: ['ipv4'], preserved: [], restarting: false });
    expect(s.addPath).toEqual({ rx: ['ipv4'], tx: ['ipv4'] });
  });

  it('adds IPv6 unicast and extended message when asked', () => {
    const s = summarise(localCapabilities(peerIntent('10.0.0.2', { families: [4, 6] }), { ...local, extendedMessage: true }));
    expect(s.multiprotocol).toEqual(['ipv4', 'ipv6']);
    expect(s.extendedMessage).toBe(true);
  });

  it('encodes an OPEN that decodes back, with AS_TRANS for a 4-octet AS', () => {
    const { bytes } = buildOpen(peerIntent('10.0.0.2', { localAs: 4200000001, holdTime: 240 }), local);
    const o = decodeOpen(bytes);
    expect([o.myAs, o.as4, o.holdTime, o.bgpId]).toEqual([23456, 4200000001, 240, '10.0.0.1']);
  });
});

describe('our OPEN is built once per distinct content', () => {
  it('peers with the same settings share one encoded OPEN; any input that shows in it makes another', () => {
    let restarting = true;
    const gr = { ...local, gracefulRestart: () => ({ restarting, forwardingPreserved: true }) };
    const a = buildOpen(peerIntent('10.0.0.2', { holdTime: 77 }), gr);
    const b = buildOpen(peerIntent('10.0.0.3', { holdTime: 77 }), gr);
    expect(b).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.open)).toBe(true);
    expect(decodeOpen(a.bytes).holdTime).toBe(77);
    // The graceful-restart state is read at each OPEN: once recovered, the R bit is clear.
    restarting = false;
    const c = buildOpen(peerIntent('10.0.0.2', { holdTime: 77 }), gr);
    expect(c).not.toBe(a);
    expect(summarise(decodeOpen(c.bytes).capabilities).gracefulRestart?.restarting).toBe(false);
    expect(summarise(decodeOpen(a.bytes).capabilities).gracefulRestart?.restarting).toBe(true);
    expect(buildOpen(peerIntent('10.0.0.2', { holdTime: 78 }), gr)).not.toBe(c);
    expect(buildOpen(peerIntent('10.0.0.2', { holdTime: 77, families: [4, 6] }), gr)).not.toBe(c);
    expect(buildOpen(peerIntent('10.0.0.2', { holdTime: 77, localAs: 65001 }), gr)).not.toBe(c);
    expect(buildOpen(peerIntent('10.0.0.2', { holdTime: 77 }), { ...gr, routerId: '10.0.0.9' })).not.toBe(c);
    expect(buildOpen(peerIntent('10.0.0.2', { holdTime: 77 }), { ...gr, hostname: 'node-b' })).not.toBe(c);
  });
});

describe('OPEN checks against the peer config', () => {
  const peer = peerIntent('10.0.0.2');
  const code = (f: () => void) => {
    try {
      f();
    } catch (e) {
      if (e instanceof BgpError) return `${e.code}/${e.subcode}`;
      throw e;
    }
    return 'ok';
  };
  it('refuses a wrong AS (2/2), our own identifier on iBGP (2/3), hold 1 or 2 (2/6)', () => {
    expect(code(() => checkPeerOpen(peer, local, theirOpen()))).toBe('ok');
    expect(code(() => checkPeerOpen(peer, local, theirOpen({ myAs: 65000, as4: 65000, capabilities: [{ kind: 'as4', asn: 65000 }] })))).toBe('2/2');
    expect(code(() => checkPeerOpen(peer, local, theirOpen({ bgpId: '10.0.0.1' })))).toBe('2/3');
    expect(code(() => checkPeerOpen(peer, local, theirOpen({ holdTime: 1 })))).toBe('2/6');
    expect(code(() => checkPeerOpen(peer, local, theirOpen({ holdTime: 2 })))).toBe('2/6');
    expect(code(() => checkPeerOpen(peer, local, theirOpen({ holdTime: 0 })))).toBe('ok');
  });

  it('negotiates hold = min(ours, theirs), keepalive = hold/3 (or the configured one if smaller), 0 disables both', () => {
    const ours = buildOpen(peer, local).open;
    expect(negotiate(peer, ours, theirOpen({ holdTime: 90 }))).toMatchObject({ holdTime: 90, keepaliveTime: 30 });
    expect(negotiate(peer, ours, theirOpen({ holdTime: 600 }))).toMatchObject({ holdTime: 240, keepaliveTime: 80 });
    expect(negotiate(peerIntent('10.0.0.2', { keepaliveTime: 10 }), ours, theirOpen({ holdTime: 90 }))).toMatchObject({ keepaliveTime: 10 });
    expect(negotiate(peer, ours, theirOpen({ holdTime: 0 }))).toMatchObject({ holdTime: 0, keepaliveTime: 0 });
  });

  it('records the negotiated codec context and families', () => {
    const ours = buildOpen(peer, local).open;
    const n = negotiate(peer, ours, theirOpen({ capabilities: [{ kind: 'as4', asn: 64512 }, { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 2 }] }] }));
    expect(n.context).toEqual({ as4: true, addPathRx: { ipv4: true, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false });
    expect(n.families).toEqual([4]);
    expect(n.internal).toBe(true);
    expect(n.peerGracefulRestart).toBe(false);
  });

  it('summarises our capabilities once per OPEN built, each session its peer\'s', () => {
    const ours = buildOpen(peer, local).open;
    const a = negotiate(peer, ours, theirOpen());
    const b = negotiate(peer, ours, theirOpen({ capabilities: [{ kind: 'as4', asn: 64512 }, { kind: 'routeRefresh' }] }));
    expect(a.localCaps).toBe(b.localCaps);
    expect(a.localCaps).toEqual(summarise(ours.capabilities));
    expect(a.peerCaps.routeRefresh).toBe(false);
    expect(b.peerCaps.routeRefresh).toBe(true);
    // Another configuration, another OPEN: its own summary.
    const other = buildOpen(peerIntent('10.0.0.2', { families: [4, 6] }), local).open;
    expect(negotiate(peer, other, theirOpen()).localCaps.multiprotocol).toEqual(['ipv4', 'ipv6']);
  });
});

describe('peer diff on reload', () => {
  const a = peerIntent('10.0.0.2');
  const b = peerIntent('10.0.0.3');
  it('starts new peers, stops removed ones, resets changed transport/identity, keeps the rest', () => {
    const c = peerIntent('10.0.0.4');
    const d = diffPeers([a, b], [{ ...a, holdTime: 90 }, c]);
    expect(d.added.map((p) => p.name)).toEqual([c.name]);
    expect(d.removed.map((p) => p.name)).toEqual([b.name]);
    expect(d.reset.map((p) => p.name)).toEqual([a.name]);
    expect(diffPeers([a, b], [a, b]).unchanged).toHaveLength(2);
  });
  it('applies policy-only changes without a reset', () => {
    expect(needsReset(a, { ...a, maxPrefixes: 100 })).toBe(false);
    expect(needsReset(a, { ...a, connectRetryTime: 30 })).toBe(false);
    expect(diffPeers([a], [{ ...a, maxPrefixes: 100 }]).updated).toHaveLength(1);
    for (const change of [{ peerAs: 65000 }, { sourceAddress: '10.0.0.9' }, { passive: true }, { peerPort: 1790 }, { password: 'x' }, { families: [4, 6] as const }]) {
      expect(needsReset(a, { ...a, ...change })).toBe(true);
    }
  });
});
