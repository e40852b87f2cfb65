import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../tools/lab/netns.js';
import { freePort, peerIntent, Speaker } from './helpers.js';

const speakers: Speaker[] = [];
afterEach(async () => {
  await Promise.all(speakers.splice(0).map((s) => s.close()));
});

async function pair(aOpts: Parameters<typeof peerIntent>[1] = {}, bOpts: Parameters<typeof peerIntent>[1] = {}) {
  const port = await freePort();
  const a = new Speaker('127.0.0.1', port);
  const b = new Speaker('127.0.0.2', port);
  speakers.push(a, b);
  await a.start([peerIntent('127.0.0.2', { peerPort: port, sourceAddress: '127.0.0.1', ...aOpts })]);
  await b.start([peerIntent('127.0.0.1', { peerPort: port, sourceAddress: '127.0.0.2', ...bOpts })]);
  return { a, b, port };
}

describe('sessions over loopback TCP', () => {
  it('reaches Established with one side passive (Calico mesh rule)', async () => {
    const { a, b } = await pair({ passive: true }, {});
    await waitFor('both Established', () => a.status('Mesh_127_0_0_2')?.bgpState === 'Established' && b.status('Mesh_127_0_0_1')?.bgpState === 'Established', 5000, 20);
    const sa = a.status('Mesh_127_0_0_2');
    expect(sa?.protoState).toBe('up');
    expect(sa?.neighborId).toBe('127.0.0.2');
    expect(sa?.holdTime).toBe(240);
    expect(sa?.keepaliveTime).toBe(80);
    expect(sa?.peerCaps?.as4).toBe(true);
    expect(sa?.peerCaps?.addPath).toEqual({ rx: ['ipv4'], tx: ['ipv4'] });
    expect(sa?.peerCaps?.hostname).toBe('host-127.0.0.2');
    expect(a.engine.ups[0]?.localAddress).toBe('127.0.0.1');
    expect(a.engine.ups[0]?.context.addPathRx.ipv4).toBe(true);
  });

  it('settles on one connection when both sides dial', async () => {
    const { a, b } = await pair({}, {});
    await waitFor('both Established', () => a.status('Mesh_127_0_0_2')?.bgpState === 'Established' && b.status('Mesh_127_0_0_1')?.bgpState === 'Established', 5000, 20);
    // Exactly one connection survives, and both ends agree which one it is.
    await waitFor('one connection each', () => a.peers.get('Mesh_127_0_0_2')?.attemptStates().length === 1 && b.peers.get('Mesh_127_0_0_1')?.attemptStates().length === 1, 5000, 20);
    const [sa] = a.peers.get('Mesh_127_0_0_2')!.attemptStates();
    const [sb] = b.peers.get('Mesh_127_0_0_1')!.attemptStates();
    expect(sa?.state).toBe('Established');
    expect(sb?.state).toBe('Established');
    expect(sa?.direction).not.toBe(sb?.direction);
    expect(a.status('Mesh_127_0_0_2')?.flaps).toBe(0);
  });

  it('negotiates the smaller hold time and keepalive = hold/3', async () => {
    const { a, b } = await pair({ holdTime: 9, passive: true }, { holdTime: 30 });
    await waitFor('Established', () => b.status('Mesh_127_0_0_1')?.bgpState === 'Established', 5000, 20);
    expect(b.status('Mesh_127_0_0_1')?.holdTime).toBe(9);
    expect(b.status('Mesh_127_0_0_1')?.keepaliveTime).toBe(3);
    expect(a.status('Mesh_127_0_0_2')?.holdTime).toBe(9);
  });

  it('refuses a wrong peer AS with 2/2 and reports it on both sides as BIRD does', async () => {
    const { a, b } = await pair({ passive: true, peerAs: 65000 }, {});
    await waitFor('a reports Bad peer AS', () => a.status('Mesh_127_0_0_2')?.lastError?.message === 'Bad peer AS', 5000, 20);
    expect(a.status('Mesh_127_0_0_2')?.lastError).toEqual({ errorClass: 'BGP Error', message: 'Bad peer AS' });
    await waitFor('b received Bad peer AS', () => b.status('Mesh_127_0_0_1')?.lastError?.errorClass === 'Received', 5000, 20);
    expect(b.status('Mesh_127_0_0_1')?.lastError).toEqual({ errorClass: 'Received', message: 'Bad peer AS' });
    // We sent the error, so we sit in error wait (Idle) and do not accept the peer meanwhile.
    expect(a.status('Mesh_127_0_0_2')?.bgpState).toBe('Idle');
  });

  it('reports Socket: Connection refused when nobody listens', async () => {
    const port = await freePort();
    const a = new Speaker('127.0.0.1', port);
    speakers.push(a);
    await a.start([peerIntent('127.0.0.3', { peerPort: port, sourceAddress: '127.0.0.1' })]);
    await waitFor('connection refused', () => a.status('Mesh_127_0_0_3')?.lastError?.message === 'Connection refused', 5000, 20);
    expect(a.status('Mesh_127_0_0_3')?.lastError?.errorClass).toBe('Socket');
    expect(['Active', 'Connect']).toContain(a.status('Mesh_127_0_0_3')?.bgpState);
  });

  it('sends Cease 6/3 to a removed peer and leaves the other session untouched', async () => {
    const port = await freePort();
    const a = new Speaker('127.0.0.1', port);
    const b = new Speaker('127.0.0.2', port);
    const c = new Speaker('127.0.0.3', port);
    speakers.push(a, b, c);
    const toB = peerIntent('127.0.0.2', { peerPort: port, sourceAddress: '127.0.0.1', passive: true });
    const toC = peerIntent('127.0.0.3', { peerPort: port, sourceAddress: '127.0.0.1', passive: true });
    await a.start([toB, toC]);
    await b.start([peerIntent('127.0.0.1', { peerPort: port, sourceAddress: '127.0.0.2' })]);
    await c.start([peerIntent('127.0.0.1', { peerPort: port, sourceAddress: '127.0.0.3' })]);
    await waitFor('both up', () => a.status(toB.name)?.protoState === 'up' && a.status(toC.name)?.protoState === 'up', 5000, 20);
    const sinceB = a.status(toB.name)?.since;
    const diff = await a.peers.apply([toB]);
    expect(diff.removed.map((p) => p.name)).toEqual([toC.name]);
    await waitFor('c told', () => c.status('Mesh_127_0_0_1')?.lastError?.message === 'Peer de-configured', 5000, 20);
    expect(a.status(toB.name)?.protoState).toBe('up');
    expect(a.status(toB.name)?.since).toEqual(sinceB);
    expect(a.status(toB.name)?.flaps).toBe(0);
    // A changed hold time resets only that peer, with 6/6.
    await a.peers.apply([{ ...toB, holdTime: 90 }]);
    await waitFor('b told', () => b.status('Mesh_127_0_0_1')?.lastError?.message === 'Other configuration change', 5000, 20);
    await waitFor('b back up', () => b.status('Mesh_127_0_0_1')?.protoState === 'up', 5000, 20);
    expect(b.status('Mesh_127_0_0_1')?.holdTime).toBe(90);
  });

  it('refuses a connection from an unconfigured address without disturbing the session', async () => {
    const { a, b, port } = await pair({ passive: true }, {});
    await waitFor('Established', () => a.status('Mesh_127_0_0_2')?.protoState === 'up', 5000, 20);
    const stranger = new Speaker('127.0.0.9', port);
    speakers.push(stranger);
    await stranger.start([peerIntent('127.0.0.1', { peerPort: port, sourceAddress: '127.0.0.9' })]);
    await waitFor('stranger rejected', () => stranger.status('Mesh_127_0_0_1')?.lastError?.message === 'Connection rejected', 5000, 20);
    expect(a.status('Mesh_127_0_0_2')?.protoState).toBe('up');
    expect(a.status('Mesh_127_0_0_2')?.flaps).toBe(0);
    expect(b.status('Mesh_127_0_0_1')?.protoState).toBe('up');
  });

  it('disable with a message sends Cease 6/2 with the RFC 8203 text; enable brings the session back', async () => {
    const { a, b } = await pair({ passive: true }, {});
    await waitFor('Established', () => a.status('Mesh_127_0_0_2')?.protoState === 'up', 5000, 20);
    expect(await a.peers.disable('Mesh_127_0_0_2', 'maintenance window')).toBe('done');
    expect(a.status('Mesh_127_0_0_2')).toMatchObject({ protoState: 'down', bgpState: 'Down', disabled: true });
    await waitFor('b told', () => b.status('Mesh_127_0_0_1')?.lastError?.message === 'Administrative shutdown', 5000, 20);
    expect(b.status('Mesh_127_0_0_1')?.lastError?.errorClass).toBe('Received');
    expect(b.peers.get('Mesh_127_0_0_1')?.receivedMessage).toBe('maintenance window');
    expect(await a.peers.disable('Mesh_127_0_0_2')).toBe('already');
    expect(a.peers.enable('Mesh_127_0_0_2')).toBe('done');
    await waitFor('back up', () => a.status('Mesh_127_0_0_2')?.protoState === 'up' && b.status('Mesh_127_0_0_1')?.protoState === 'up', 10_000, 20);
    expect(a.status('Mesh_127_0_0_2')?.disabled).toBe(false);
    expect(b.peers.get('Mesh_127_0_0_1')?.receivedMessage).toBeUndefined();
  });
});
