/**
 * Per-family pieces without namespaces (issue 9): `--listen` once per family (or a list), the
 * BgpListeners group (one socket per address, one accept path, all or nothing), and the control
 * socket's per-family view of a multiprotocol session (bird.ctl and bird6.ctl, one channel per
 * family in `show protocols all`).
 */
import * as net from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { execute, type CommandContext } from '../../daemon/control/commands.js';
import { LineFramer, type Dialect } from '../../daemon/control/framing.js';
import { BgpListeners, parseListenList, type ListenAddress } from '../../daemon/listener.js';
import { createLogger } from '../../daemon/log.js';
import { buildProgram } from '../../daemon/main.js';
import { parsePetrelArgs } from '../support/petrel-args.js';
import type { Family, PeerIntent } from '../../daemon/model.js';
import type { SessionUp } from '../../daemon/session/engine.js';
import { enginePeerOf } from '../../daemon/session/rib-bridge.js';
import { at, bgp, FakeBackend, nodeState } from '../control/fake-backend.js';

const quiet = createLogger('none', new Writable({ write: (_c, _e, cb) => cb() }));

describe('--listen per family', () => {
  it('may be repeated; one value stays a string (as before)', async () => {
    expect((await parsePetrelArgs(['--node', 'n', '--listen', '10.0.0.1:179'])).listen).toBe('10.0.0.1:179');
    expect((await parsePetrelArgs(['--node', 'n', '--listen', '10.0.0.1:179', '--listen', '[fd00::1]:179'])).listen).toEqual(['10.0.0.1:179', '[fd00::1]:179']);
  });

  it('--help says it can be given once per family', () => {
    const help = buildProgram(async () => {}).helpInformation().replace(/\s+/g, ' ');
    expect(help).toMatch(/--listen <addr:port> .*repeat it .*one per family: --listen 10\.0\.0\.1:179 --listen \[fd00::1\]:179/);
  });

  it('parseListenList: repeated values and comma lists, bare and bracketed IPv6, the default port; a duplicate is an error', () => {
    expect(parseListenList(['10.0.0.1', '[fd00::1]:1790,fd00::2'], 1179)).toEqual([
      { host: '10.0.0.1', port: 1179 },
      { host: 'fd00::1', port: 1790 },
      { host: 'fd00::2', port: 1179 },
    ]);
    expect(parseListenList('10.0.0.1:179')).toEqual([{ host: '10.0.0.1', port: 179 }]);
    expect(() => parseListenList(['10.0.0.1:179', '10.0.0.1'])).toThrow('listen address 10.0.0.1 port 179 given twice');
    expect(() => parseListenList('10.0.0.1:99999')).toThrow(/invalid listen port/);
  });
});

describe('BgpListeners', () => {
  let group: BgpListeners | undefined;
  let blocker: net.Server | undefined;
  afterEach(async () => {
    await group?.close();
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    group = undefined;
    blocker = undefined;
  });

  const connect = (host: string, port: number) =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });

  it('listens on an IPv4 and an IPv6 address; connections to either reach the one router with their source', async () => {
    const seen: string[] = [];
    group = new BgpListeners(
      [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }],
      (socket, source) => {
        seen.push(source);
        socket.destroy();
        return 'accepted';
      },
      quiet,
    );
    const bound = await group.listen();
    expect(bound.map((b) => b.host)).toEqual(['127.0.0.1', '::1']);
    await connect('127.0.0.1', bound[0]!.port);
    await connect('::1', bound[1]!.port);
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => seen.length >= 2 && (clearInterval(t), resolve()), 10);
      setTimeout(() => (clearInterval(t), reject(new Error(`only saw ${seen.join(',')}`))), 2000).unref();
    });
    expect(seen.sort()).toEqual(['127.0.0.1', '::1']);
  });

  it('if one address cannot be bound, the others are closed again and the error is reported', async () => {
    blocker = net.createServer();
    const taken = await new Promise<number>((r) => blocker!.listen(0, '::1', () => r((blocker!.address() as net.AddressInfo).port)));
    const first: ListenAddress = { host: '127.0.0.1', port: taken };
    group = new BgpListeners([first, { host: '::1', port: taken }], () => 'accepted', quiet);
    await expect(group.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // The IPv4 socket bound first was released: the port can be bound again there.
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(taken, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));
  });

  it('refuses to be built without an address', () => {
    expect(() => new BgpListeners([], () => 'accepted', quiet)).toThrow('no BGP listen address');
  });
});

describe('control sockets: a multiprotocol session per family', () => {
  async function reply(cmd: string, families: Family[], dialect: Dialect, state = nodeState()): Promise<string> {
    const ctx: CommandContext = { backend: new FakeBackend(state), dialect, families, now: () => at('01:45:00.724') };
    const framer = new LineFramer(dialect);
    let out = '';
    for (const l of await execute(cmd, ctx, { restricted: false }).lines) out += framer.frame(l);
    return out;
  }

  const state = () => {
    const s = nodeState();
    s.peers = [
      bgp({ name: 'Mesh_10_0_0_2', peerIp: '10.0.0.2', families: [4, 6] }),
      bgp({ name: 'Mesh_10_0_0_3', peerIp: '10.0.0.3' }),
      bgp({ name: 'Mesh_fd00__4', peerIp: 'fd00::4', families: [6] }),
      bgp({ name: 'Global_10_0_0_9', peerIp: '10.0.0.9', families: [6] }),
    ];
    return s;
  };

  it('bird.ctl lists sessions carrying IPv4, bird6.ctl those carrying IPv6, whatever their transport', async () => {
    const four = await reply('show protocols', [4], 'bird1', state());
    const six = await reply('show protocols', [6], 'bird1', state());
    const names = (out: string) => [...out.matchAll(/^(?:1002-| )(\S+)\s+BGP/gm)].map((m) => m[1]);
    expect(names(four)).toEqual(['Mesh_10_0_0_2', 'Mesh_10_0_0_3']);
    expect(names(six)).toEqual(['Mesh_10_0_0_2', 'Mesh_fd00__4', 'Global_10_0_0_9']);
  });

  it('bird2 `show protocols all` prints an ipv4 and an ipv6 channel for a two-family session, the IPv6 one on master6', async () => {
    const out = await reply('show protocols all Mesh_10_0_0_2', [4, 6], 'bird2', state());
    expect(out).toMatch(/Channel ipv4\n\s+State:\s+\S+\n\s+Table:\s+master4/);
    expect(out).toMatch(/Channel ipv6\n\s+State:\s+\S+\n\s+Table:\s+master6/);
    // The neighbour announced IPv4 only: the IPv6 channel is down, the IPv4 one up.
    const s = state();
    s.peers[0] = { ...s.peers[0]!, peerCaps: { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: false, as4: true, llgr: false, extendedMessage: false } };
    const half = await reply('show protocols all Mesh_10_0_0_2', [4, 6], 'bird2', s);
    expect(half).toMatch(/Channel ipv4\n\s+State:\s+UP/);
    expect(half).toMatch(/Channel ipv6\n\s+State:\s+DOWN/);
    const single = await reply('show protocols all Mesh_10_0_0_3', [4, 6], 'bird2', state());
    expect(single).toContain('Channel ipv4');
    expect(single).not.toContain('Channel ipv6');
  });
});

describe('next hops of a multiprotocol session (RibBridge → RIB)', () => {
  const up = (family: Family, families: Family[], localAddress: string): SessionUp => ({
    peer: { name: 'Global_x', family, families, peerIp: family === 4 ? '10.0.0.1' : 'fd00::1', localAs: 64512, keepOriginalNextHop: false, rrClient: false, maxPrefixesAction: 'reset' } as unknown as PeerIntent,
    neighborId: '10.0.0.1', peerAs: 64512, localAddress, remoteAddress: '', internal: true, families,
    context: { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false },
    localCaps: {} as SessionUp['localCaps'], peerCaps: {} as SessionUp['peerCaps'], holdTime: 240,
    send: () => true, reset: () => {},
  });

  it('IPv6 over an IPv4 transport: the IPv6 next hop is the node IPv6 address', () => {
    expect(enginePeerOf(up(4, [4, 6], '10.0.0.11'), 'fd00::11', '10.0.0.11')).toMatchObject({ localAddress: '10.0.0.11', localAddress6: 'fd00::11' });
  });

  it('IPv4 over an IPv6 transport: the IPv4 next hop is the node IPv4 address, the IPv6 one the session address', () => {
    expect(enginePeerOf(up(6, [4, 6], 'fd00::11'), 'fd00::11', '10.0.0.11')).toMatchObject({ localAddress: '10.0.0.11', localAddress6: 'fd00::11' });
  });

  it('a plain IPv6 session keeps its own address', () => {
    const p = enginePeerOf(up(6, [6], 'fd00::11'), 'fd00::11', '10.0.0.11');
    expect(p.localAddress).toBe('fd00::11');
    expect(p.localAddress6).toBeUndefined();
  });
});
