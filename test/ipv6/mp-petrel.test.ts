/**
 * Two dual-stack Petrel daemons under bindMode NodeIP (issue 9).
 * 1. Calico's layout, one session per family: the IPv6 mesh session can only come up if the
 *    passive side listens on its IPv6 node address too (NodeIP listens per family, as bird and
 *    bird6 do), so an IPv6 peer connecting under NodeIP is proven by it being Established.
 * 2. `nodeMeshAddressFamilies: [IPv4, IPv6]` applied live: the pair converges on ONE session over
 *    IPv4 carrying both families (the IPv6 session is removed), on one TCP connection, and each
 *    node's IPv4 and IPv6 blocks land in the other's kernel tables, IPv6 via the IPv6 node address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeResource } from '../../config/index.js';
import { MpLab, doc } from './mp-lab.js';

const P1 = { name: 'p1', v4: '10.85.0.11', v6: 'fd85::11' } as const;
const P2 = { name: 'p2', v4: '10.85.0.12', v6: 'fd85::12' } as const;

const lab = new MpLab('p');
const blocks: Record<string, { v4: string; v6: string }> = {};

beforeAll(async () => {
  const yaml = [
    doc('BGPConfiguration', 'default', '{ asNumber: 64512, bindMode: NodeIP }'),
    doc('IPPool', 'v4-pool', '{ cidr: 10.86.0.0/24, blockSize: 26, nodeSelector: all() }'),
    doc('IPPool', 'v6-pool', "{ cidr: 'fd86::/120', nodeSelector: all() }"),
    ...[P1, P2].map((p) => doc('Node', p.name, `{ bgp: { ipv4Address: ${p.v4}/24, ipv6Address: '${p.v6}/64' } }`)),
  ].join('---\n');
  try {
    await lab.up([P1, P2], yaml);
    for (const p of [P1, P2]) blocks[p.name] = { v4: await lab.allocate(p.name, 4), v6: await lab.allocate(p.name, 6) };
    await Promise.all([lab.startPetrel(P1.name), lab.startPetrel(P2.name)]);
  } catch (e) {
    await lab.down();
    throw e;
  }
}, 60_000);
afterAll(() => lab.down(), 30_000);

const established = (out: string, name: string) => new RegExp(`${name}\\s+BGP\\s+\\S+\\s+up\\s+\\S+\\s+Established`).test(out);

describe('bindMode NodeIP on dual-stack nodes, one session per family (Calico)', () => {
  it('each daemon listens on its IPv4 and its IPv6 node address only', async () => {
    expect(await lab.bgpListeners(P1.name)).toEqual([`${P1.v4}:179`, `[${P1.v6}]:179`].sort());
    expect(await lab.bgpListeners(P2.name)).toEqual([`${P2.v4}:179`, `[${P2.v6}]:179`].sort());
  });

  it('the IPv6 peer connects to the IPv6 listener: Mesh_fd85__12 is Established beside Mesh_10_85_0_12', async () => {
    await lab.until('both per-family sessions established on p1', async () => {
      const four = await lab.birdc(lab.host(P1.name).ctl, 'show', 'protocols');
      const six = await lab.birdc(lab.host(P1.name).ctl6, 'show', 'protocols');
      return established(four, 'Mesh_10_85_0_12') && established(six, 'Mesh_fd85__12');
    });
    // fd85::11 < fd85::12: p1 is passive, so p2 dialled p1's IPv6 address.
    const conns = await lab.bgpConnections(P1.name);
    expect(conns).toHaveLength(2);
    expect(conns.some((c) => c.startsWith(`[${P1.v6}]:179 [${P2.v6}]:`))).toBe(true);
  });
});

describe('nodeMeshAddressFamilies [IPv4, IPv6] applied live', () => {
  beforeAll(async () => {
    await lab.apply([makeResource('BGPConfiguration', 'default', { asNumber: 64512, bindMode: 'NodeIP', nodeMeshAddressFamilies: ['IPv4', 'IPv6'] })]);
  });

  it('the pair converges on one session over IPv4 shown on both sockets; the IPv6 session is gone; one TCP connection', async () => {
    for (const p of [P1, P2]) {
      const other = p === P1 ? P2 : P1;
      const name = `Mesh_${other.v4.replace(/\./g, '_')}`;
      const h = lab.host(p.name);
      await lab.until(`${p.name}: one multiprotocol session`, async () => {
        const four = await lab.birdc(h.ctl, 'show', 'protocols');
        const six = await lab.birdc(h.ctl6, 'show', 'protocols');
        return established(four, name) && established(six, name) && !six.includes('Mesh_fd85');
      });
    }
    await lab.until('one BGP TCP connection between the daemons', async () => (await lab.bgpConnections(P1.name)).length === 1);
    expect((await lab.bgpConnections(P1.name))[0]).toMatch(/^10\.85\.0\.1[12]:\d+ 10\.85\.0\.1[12]:\d+$/);
  });

  it('bird6.ctl shows the /122 learned from the IPv4-named protocol; bird.ctl does not', async () => {
    for (const [me, other] of [[P1, P2], [P2, P1]] as const) {
      const b = blocks[other.name]!;
      const proto = `Mesh_${other.v4.replace(/\./g, '_')}`;
      // The /122 was first learned on the IPv6 session; now it must come from the multiprotocol one.
      const six = await lab.until(`${me.name}: the /122 from ${proto}`, async () => {
        const out = await lab.birdc(lab.host(me.name).ctl6, 'show', 'route', 'protocol', proto);
        return out.includes(b.v6) ? out : undefined;
      });
      expect(six).not.toContain(b.v4);
      const four = await lab.birdc(lab.host(me.name).ctl, 'show', 'route', 'protocol', proto);
      expect(four).toContain(b.v4);
      expect(four).not.toContain(b.v6);
    }
  });

  it("each node's /26 and /122 are in the other's kernel tables, the /122 via the IPv6 node address", async () => {
    for (const [me, other] of [[P1, P2], [P2, P1]] as const) {
      const b = blocks[other.name]!;
      const v6 = await lab.until(`${other.name}'s /122 in ${me.name}'s kernel`, async () => (await lab.routes(me.name, 6)).find((r) => r.dst === b.v6));
      expect(v6).toMatchObject({ gateway: other.v6, protocol: 'bird', dev: 'eth0' });
      const v4 = await lab.until(`${other.name}'s /26 in ${me.name}'s kernel`, async () => (await lab.routes(me.name, 4)).find((r) => r.dst === b.v4));
      expect(v4).toMatchObject({ gateway: other.v4, protocol: 'bird' });
    }
  });
});
