/**
 * What the session does with UPDATEs and with a peer that comes back: decoded UPDATEs reach the
 * real RIB through RibBridge; a fatal UPDATE error resets the session with its NOTIFICATION;
 * maxPrefixes with action reset sends Cease 6/1; a new connection from a graceful-restart
 * capable peer replaces its established session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HEADER_LENGTH, MsgType } from '../../proto/constants.js';
import { defaultCodecContext } from '../../proto/context.js';
import { writeHeader } from '../../proto/header.js';
import { parseIpv4 } from '../../proto/prefix.js';
import { encodeUpdates } from '../../proto/update.js';
import { encodeRouteRefresh } from '../../proto/refresh.js';
import type { Capability } from '../../proto/capabilities.js';
import { silentLogger } from '../../daemon/log.js';
import { RouteEngine as Rib } from '../../daemon/rib/index.js';
import { RibBridge } from '../../daemon/session/rib-bridge.js';
import { parseNotification } from '../../daemon/session/wire.js';
import { MockSink } from '../../daemon/sink/index.js';
import type { NodeIntent, PeerIntent } from '../../daemon/model.js';
import type { SessionUp } from '../../daemon/session/engine.js';
import { freePort, peerIntent, ScriptedPeer, Speaker, until } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function nodeIntent(peers: PeerIntent[]): NodeIntent {
  return {
    nodeName: 'node-a', routerId: '127.0.0.1', localAs: 64512, ipv4Address: '127.0.0.1', listenPort: 179, logLevel: 'info',
    peers, pools: [], ownBlocks: [], borrowed: [], serviceRoutes: [], rejectCidrs: [],
  };
}

/** A speaker on 127.0.0.1 with the real RIB, and a scripted peer 127.0.0.5 that reached Established. */
async function established(o: Partial<PeerIntent> = {}, grCapable = false, ownBlocks: string[] = [], bridgeOf = (r: Rib) => new RibBridge(r, silentLogger())) {
  const port = await freePort();
  const peer = peerIntent('127.0.0.5', { peerPort: port, passive: true, ...o });
  const rib = new Rib({ intent: { ...nodeIntent([peer]), ownBlocks }, sink: new MockSink(), log: silentLogger() });
  const speaker = new Speaker('127.0.0.1', port, '127.0.0.1', silentLogger(), bridgeOf(rib));
  cleanup.push(() => speaker.close());
  await speaker.start([peer]);
  const remote = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
  cleanup.push(async () => void remote.socket.destroy());
  await until('our OPEN', () => remote.types().includes(1), 100_000);
  const caps: Capability[] = [{ kind: 'routeRefresh' }];
  if (grCapable) caps.push({ kind: 'gracefulRestart', restartState: false, notification: false, restartTime: 120, families: [] });
  remote.sendOpen(90, 64512, '10.9.9.9', caps);
  remote.sendKeepalive();
  await until('Established', () => speaker.status(peer.name)?.bgpState === 'Established', 100_000);
  return { speaker, remote, rib, port, name: peer.name };
}

const notificationOf = (p: ScriptedPeer) => {
  const m = p.received.find((x) => x[18] === MsgType.NOTIFICATION);
  if (!m) return undefined;
  const n = parseNotification(m);
  return `${n.code}/${n.subcode}`;
};

function announce(prefixes: string[]): Uint8Array[] {
  const packed = new Uint32Array(prefixes.flatMap((p) => [parseIpv4(p.split('/')[0]!), Number(p.split('/')[1])]));
  return encodeUpdates({ origin: 0, asPath: [], nextHop: '127.0.0.5', localPref: 100, unknown: [] }, 1, packed, defaultCodecContext());
}

describe('UPDATEs through the session', () => {
  it('hands decoded UPDATEs to the RIB', async () => {
    const { remote, rib, name } = await established();
    for (const m of announce(['10.48.0.0/26', '10.48.1.0/26'])) remote.socket.write(m);
    await until('two routes in the RIB', () => [...rib.listRoutes({ protocol: name })].length === 2, 100_000);
    expect([...rib.listRoutes({ protocol: name })].map((r) => r.prefix).sort()).toEqual(['10.48.0.0/26', '10.48.1.0/26']);
  });

  it('stops reading while more than HIGH_WATER_BYTES of UPDATEs wait for the RIB, and reads the rest once it caught up', async () => {
    let pauses = 0;
    let resumes = 0;
    class CountingBridge extends RibBridge {
      override peerUp(up: SessionUp): void {
        super.peerUp({ ...up, pauseReading: () => void (pauses++, up.pauseReading?.()), resumeReading: () => void (resumes++, up.resumeReading?.()) });
      }
    }
    const { remote, rib, name } = await established({}, false, [], (r) => new CountingBridge(r, silentLogger()));
    // 120,000 /24s, 4 per attribute set (by MED): about 2 MB of small UPDATEs written at once.
    const n = 120_000;
    const ctx = defaultCodecContext();
    const messages: Uint8Array[] = [];
    for (let set = 0; set < n / 4; set++) {
      const packed = new Uint32Array(8);
      for (let i = 0; i < 4; i++) {
        packed[2 * i] = ((set * 4 + i + 65536) * 256) >>> 0;
        packed[2 * i + 1] = 24;
      }
      messages.push(...encodeUpdates({ origin: 0, asPath: [], nextHop: '127.0.0.5', localPref: 100, med: set, unknown: [] }, 1, packed, ctx));
    }
    remote.socket.write(Buffer.concat(messages));
    await until('every route imported', () => rib.counters(name).imported === n, 1_000_000);
    expect(pauses).toBeGreaterThan(0);
    expect(resumes).toBe(pauses);
    expect(remote.closed).toBe(false);
  });

  it('resets the session with 3/1 on a malformed attribute list', async () => {
    const { speaker, remote, name } = await established();
    // Total path attribute length 16 with no attribute bytes behind it.
    const bad = new Uint8Array(HEADER_LENGTH + 4);
    writeHeader(bad, bad.length, MsgType.UPDATE);
    bad.set([0, 0, 0, 16], HEADER_LENGTH);
    remote.socket.write(bad);
    await until('NOTIFICATION', () => notificationOf(remote) !== undefined, 100_000);
    expect(notificationOf(remote)).toBe('3/1');
    expect(speaker.status(name)?.lastError).toEqual({ errorClass: 'BGP Error', message: 'Malformed attribute list' });
  });

  it('sends Cease 6/1 when the peer exceeds maxPrefixes with action reset', async () => {
    const { speaker, remote, name } = await established({ maxPrefixes: 1, maxPrefixesAction: 'reset' });
    for (const m of announce(['10.48.0.0/26', '10.48.1.0/26'])) remote.socket.write(m);
    await until('NOTIFICATION', () => notificationOf(remote) !== undefined, 100_000);
    expect(notificationOf(remote)).toBe('6/1');
    expect(speaker.status(name)?.lastError?.message).toBe('Maximum number of prefixes reached');
  });

  it('replaces the established session when a graceful-restart peer connects again and sends its OPEN', async () => {
    const { speaker, remote, port, name } = await established({}, true);
    const again = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    cleanup.push(async () => void again.socket.destroy());
    await until('our OPEN on the new connection', () => again.types().includes(1), 100_000);
    // Until the peer's OPEN arrives the new connection is only a candidate: the session stays up.
    expect(speaker.peers.get(name)!.attemptStates()).toEqual([
      { direction: 'incoming', state: 'Established' },
      { direction: 'incoming', state: 'OpenSent' },
    ]);
    expect(speaker.status(name)?.bgpState).toBe('Established');
    expect(remote.closed).toBe(false);
    again.sendOpen(90, 64512, '10.9.9.9', [{ kind: 'gracefulRestart', restartState: true, notification: false, restartTime: 120, families: [] }]);
    await until('old connection closed', () => remote.closed, 100_000);
    await until('the new connection answers the OPEN', () => speaker.peers.get(name)!.attemptStates()[0]?.state === 'OpenConfirm', 100_000);
    expect(speaker.peers.get(name)!.attemptStates()).toEqual([{ direction: 'incoming', state: 'OpenConfirm' }]);
    expect(remote.types()).not.toContain(MsgType.NOTIFICATION); // a restart is no error of the old session
    expect(speaker.status(name)?.flaps).toBe(1);
    again.sendKeepalive();
    await until('Established again', () => speaker.status(name)?.bgpState === 'Established', 100_000);
    expect(speaker.status(name)?.lastError).toBeUndefined();
  });

  it('keeps the established session when a graceful-restart peer’s extra connection closes before its OPEN', async () => {
    // Both ends dialled at once: the peer gives up its own dial once ours carries an OPEN, but the
    // kernel had already completed that dial's handshake here. It is no restart.
    const { speaker, remote, port, name } = await established({}, true);
    const stray = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    await until('our OPEN on the stray connection', () => stray.types().includes(1), 100_000);
    stray.socket.destroy();
    await until('the stray attempt is gone', () => speaker.peers.get(name)!.attemptStates().length === 1, 100_000);
    expect(speaker.peers.get(name)!.attemptStates()).toEqual([{ direction: 'incoming', state: 'Established' }]);
    expect(remote.closed).toBe(false);
    expect(remote.types()).not.toContain(MsgType.NOTIFICATION);
    const st = speaker.status(name)!;
    expect(st.bgpState).toBe('Established');
    expect(st.flaps).toBe(0);
    expect(st.lastError).toBeUndefined();
  });

  it('refuses a third connection while a graceful-restart peer’s candidate connection waits for its OPEN', async () => {
    const { speaker, remote, port, name } = await established({}, true);
    const candidate = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    cleanup.push(async () => void candidate.socket.destroy());
    await until('our OPEN on the candidate', () => candidate.types().includes(1), 100_000);
    const third = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    cleanup.push(async () => void third.socket.destroy());
    await until('third refused', () => third.closed, 100_000);
    expect(third.types()).not.toContain(MsgType.OPEN);
    expect(remote.closed).toBe(false);
    expect(speaker.peers.get(name)!.attemptStates()).toEqual([
      { direction: 'incoming', state: 'Established' },
      { direction: 'incoming', state: 'OpenSent' },
    ]);
  });

  it('refuses a second connection with 6/7 while established without graceful restart', async () => {
    const { speaker, remote, port, name } = await established();
    const again = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    cleanup.push(async () => void again.socket.destroy());
    await until('refused', () => notificationOf(again) !== undefined, 100_000);
    expect(notificationOf(again)).toBe('6/7');
    expect(remote.closed).toBe(false);
    expect(speaker.status(name)?.bgpState).toBe('Established');
  });
});

describe('a failing route engine', () => {
  it('costs nothing but a log line: the session stays Established', async () => {
    const port = await freePort();
    const peer = peerIntent('127.0.0.5', { peerPort: port, passive: true });
    const boom = () => {
      throw new Error('engine bug');
    };
    const speaker = new Speaker('127.0.0.1', port, '127.0.0.1', silentLogger(), { peerUp: boom, update: boom, peerDown: boom });
    cleanup.push(() => speaker.close());
    await speaker.start([peer]);
    const remote = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    cleanup.push(async () => void remote.socket.destroy());
    await until('our OPEN', () => remote.types().includes(1), 100_000);
    remote.sendOpen(90);
    remote.sendKeepalive();
    await until('Established', () => speaker.status(peer.name)?.bgpState === 'Established', 100_000);
    for (const m of announce(['10.48.0.0/26'])) remote.socket.write(m);
    remote.sendKeepalive();
    await until('both messages read', () => (speaker.status(peer.name)?.messages.in ?? 0) >= 4, 100_000);
    expect(speaker.status(peer.name)?.bgpState).toBe('Established');
    expect(notificationOf(remote)).toBeUndefined();
  });
});

describe('ROUTE-REFRESH', () => {
  const updates = (p: ScriptedPeer) => p.types().filter((t) => t === MsgType.UPDATE).length;

  it('answers a request with our routes again and End-of-RIB', async () => {
    const { remote } = await established({}, false, ['10.48.0.0/26']);
    // The initial table: our block and End-of-RIB.
    await until('initial table', () => updates(remote) >= 2, 100_000);
    const before = updates(remote);
    remote.socket.write(encodeRouteRefresh(1, 1));
    await until('table again', () => updates(remote) >= before + 2, 100_000);
    expect(notificationOf(remote)).toBeUndefined();
  });

  it('resets the session with 7/1 on a ROUTE-REFRESH of the wrong length', async () => {
    const { remote } = await established();
    const bad = new Uint8Array(HEADER_LENGTH + 5);
    writeHeader(bad, bad.length, MsgType.ROUTE_REFRESH);
    remote.socket.write(bad);
    await until('NOTIFICATION', () => notificationOf(remote) !== undefined, 100_000);
    expect(notificationOf(remote)).toBe('7/1');
  });
});
