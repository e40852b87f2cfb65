import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { collisionSurvivor } from '../../daemon/session/collision.js';
import { parseNotification } from '../../daemon/session/wire.js';
import { freePort, peerIntent, ScriptedPeer, scriptedServer, Speaker, until } from './helpers.js';

describe('collision resolution (RFC 4271 §6.8)', () => {
  it('keeps the connection initiated by the higher BGP identifier', () => {
    expect(collisionSurvivor('10.0.0.2', '10.0.0.1')).toBe('outgoing');
    expect(collisionSurvivor('10.0.0.1', '10.0.0.2')).toBe('incoming');
    // Numeric, not textual: 10.0.0.10 > 10.0.0.9.
    expect(collisionSurvivor('10.0.0.10', '10.0.0.9')).toBe('outgoing');
    // Unsigned: identifiers above 128.0.0.0 are large, not negative.
    expect(collisionSurvivor('200.0.0.1', '10.0.0.1')).toBe('outgoing');
  });
});

describe('collision on the wire', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** Our speaker (id 127.0.0.1) dials the scripted peer and the scripted peer dials us: two connections. */
  async function twoConnections() {
    const port = await freePort();
    const server = await scriptedServer('127.0.0.7', port);
    cleanup.push(server.close);
    const speaker = new Speaker('127.0.0.1', port, '127.0.0.1');
    cleanup.push(() => speaker.close());
    await speaker.start([peerIntent('127.0.0.7', { peerPort: port, sourceAddress: '127.0.0.1' })]);
    await until('our dial', () => server.peers.length === 1 && server.peers[0]!.types().includes(1), 100_000);
    const outgoing = server.peers[0]!; // the connection we initiated, seen from the peer
    const incoming = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.7');
    cleanup.push(async () => void incoming.socket.destroy());
    await until('our OPEN on the incoming connection', () => incoming.types().includes(1), 100_000);
    const attempts = speaker.peers.get('Mesh_127_0_0_7')!.attemptStates();
    expect(attempts).toEqual([
      { direction: 'outgoing', state: 'OpenSent' },
      { direction: 'incoming', state: 'OpenSent' },
    ]);
    return { speaker, outgoing, incoming };
  }

  it('closes the peer-initiated connection with 6/7 when our identifier is higher', async () => {
    const { speaker, outgoing, incoming } = await twoConnections();
    outgoing.sendOpen(240, 64512, '10.0.0.1');
    await until('6/7 on the incoming connection', () => incoming.types().includes(3), 100_000);
    const n = parseNotification(incoming.received.find((m) => m[18] === 3)!);
    expect([n.code, n.subcode]).toEqual([6, 7]);
    outgoing.sendKeepalive();
    await until('Established', () => speaker.status('Mesh_127_0_0_7')?.bgpState === 'Established', 100_000);
    expect(speaker.peers.get('Mesh_127_0_0_7')!.attemptStates()).toEqual([{ direction: 'outgoing', state: 'Established' }]);
    expect(speaker.status('Mesh_127_0_0_7')?.lastError).toBeUndefined();
    expect(outgoing.types()).not.toContain(3);
  });

  it('closes our own connection with 6/7 when the peer identifier is higher', async () => {
    const { speaker, outgoing, incoming } = await twoConnections();
    incoming.sendOpen(240, 64512, '200.0.0.1');
    await until('6/7 on our connection', () => outgoing.types().includes(3), 100_000);
    const n = parseNotification(outgoing.received.find((m) => m[18] === 3)!);
    expect([n.code, n.subcode]).toEqual([6, 7]);
    incoming.sendKeepalive();
    await until('Established', () => speaker.status('Mesh_127_0_0_7')?.bgpState === 'Established', 100_000);
    expect(speaker.peers.get('Mesh_127_0_0_7')!.attemptStates()).toEqual([{ direction: 'incoming', state: 'Established' }]);
    expect(incoming.types()).not.toContain(3);
  });

  it('lets a connection we are still dialling give way to the peer’s connection that carries an OPEN', async () => {
    const port = await freePort();
    const pending: net.Socket[] = [];
    const speaker = new Speaker('127.0.0.1', port, '127.0.0.200');
    // Our dial never completes (a SYN lost on the way): the outgoing attempt stays in Connect.
    (speaker.peers as unknown as { deps: { connect: () => net.Socket } }).deps.connect = () => {
      const s = new net.Socket();
      pending.push(s);
      return s;
    };
    cleanup.push(() => speaker.close());
    await speaker.start([peerIntent('127.0.0.7', { peerPort: port, sourceAddress: '127.0.0.1' })]);
    await until('dialling', () => speaker.peers.get('Mesh_127_0_0_7')!.attemptStates()[0]?.state === 'Connect', 100_000);
    const incoming = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.7');
    cleanup.push(async () => void incoming.socket.destroy());
    await until('our OPEN', () => incoming.types().includes(1), 100_000);
    // Our identifier (127.0.0.200) is higher, yet the dial that never got through does not win.
    incoming.sendOpen(240, 64512, '10.0.0.1');
    incoming.sendKeepalive();
    await until('Established', () => speaker.status('Mesh_127_0_0_7')?.bgpState === 'Established', 100_000);
    expect(speaker.peers.get('Mesh_127_0_0_7')!.attemptStates()).toEqual([{ direction: 'incoming', state: 'Established' }]);
    expect(incoming.types()).not.toContain(3);
    expect(pending[0]?.destroyed).toBe(true);
  });
});
