/**
 * The other direction of one multiprotocol session (issue 9): a BGPPeer to a BIRD 2 router's
 * IPv6 address with `addressFamilies: [IPv4, IPv6]`, so IPv4 unicast travels over an IPv6
 * transport. Petrel's IPv4 block must reach BIRD with the node's IPv4 address as next hop (the
 * session address is IPv6), and BIRD's IPv4 route must land in Petrel's IPv4 kernel table.
 * Petrel runs with `--listen` given once per family.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MpLab, doc, multiprotocolRouterConfig } from './mp-lab.js';

const NODE = { name: 'mp6', v4: '10.87.0.11', v6: 'fd87::11' } as const;
const ROUTER = { name: 'router', v4: '10.87.0.1', v6: 'fd87::1' } as const;
const ROUTER_ROUTES = { v4: '192.168.87.0/24', v6: 'fd99:87::/64' } as const;
const PROTO = 'Global_fd87__1';

const lab = new MpLab('6');
let block4 = '';
let block6 = '';


beforeAll(async () => {
  const yaml = [
    doc('BGPConfiguration', 'default', '{ asNumber: 64512 }'),
    doc('IPPool', 'v4-pool', '{ cidr: 10.88.0.0/24, blockSize: 26, nodeSelector: all() }'),
    doc('IPPool', 'v6-pool', "{ cidr: 'fd88::/120', nodeSelector: all() }"),
    doc('Node', NODE.name, `{ bgp: { ipv4Address: ${NODE.v4}/24, ipv6Address: '${NODE.v6}/64' } }`),
    doc('BGPPeer', 'router', `{ peerIP: '${ROUTER.v6}', asNumber: 64512, addressFamilies: [IPv4, IPv6] }`),
  ].join('---\n');
  try {
    await lab.up([NODE, ROUTER], yaml);
    block4 = await lab.allocate(NODE.name, 4);
    block6 = await lab.allocate(NODE.name, 6);
    await lab.startBird(ROUTER.name, multiprotocolRouterConfig({ router: ROUTER, node: NODE, routes: ROUTER_ROUTES, transport: 6 }));
    // --listen once per family (no bindMode in the datastore).
    await lab.startPetrel(NODE.name, ['--listen', `${NODE.v4}:179`, '--listen', `[${NODE.v6}]:179`]);
  } catch (e) {
    await lab.down();
    throw e;
  }
}, 60_000);
afterAll(() => lab.down(), 30_000);

describe('IPv4 and IPv6 on one session over an IPv6 transport, with BIRD 2', () => {
  it('both BIRD channels come up on the one IPv6 connection', async () => {
    await lab.until('both BIRD channels up', async () => {
      const out = await lab.birdc(lab.host(ROUTER.name).ctl, 'show', 'protocols', 'all', 'node');
      return /BGP state:\s+Established/.test(out) && /Channel ipv4\s+State:\s+UP/.test(out) && /Channel ipv6\s+State:\s+UP/.test(out);
    });
    const conns = await lab.bgpConnections(NODE.name);
    expect(conns).toHaveLength(1);
    expect(conns[0]).toContain(`[${ROUTER.v6}]:`);
  });

  it("BIRD's kernel has the node's /26 via the node's IPv4 address and its /122 via its IPv6 address", async () => {
    const v4 = await lab.until("the /26 in BIRD's kernel", async () => (await lab.routes(ROUTER.name, 4)).find((r) => r.dst === block4));
    expect(v4).toMatchObject({ gateway: NODE.v4, protocol: 'bird', dev: 'eth0' });
    const v6 = await lab.until("the /122 in BIRD's kernel", async () => (await lab.routes(ROUTER.name, 6)).find((r) => r.dst === block6));
    expect(v6).toMatchObject({ gateway: NODE.v6, protocol: 'bird' });
  });

  it("Petrel's kernel has BIRD's IPv4 route via BIRD's IPv4 address and its IPv6 route via its IPv6 address", async () => {
    const v4 = await lab.until("BIRD's v4 route in petrel's kernel", async () => (await lab.routes(NODE.name, 4)).find((r) => r.dst === ROUTER_ROUTES.v4));
    expect(v4).toMatchObject({ gateway: ROUTER.v4, protocol: 'bird', dev: 'eth0' });
    const v6 = await lab.until("BIRD's v6 route in petrel's kernel", async () => (await lab.routes(NODE.name, 6)).find((r) => r.dst === ROUTER_ROUTES.v6));
    expect(v6).toMatchObject({ gateway: ROUTER.v6, protocol: 'bird' });
  });

  it('--listen given once per family: Petrel listens on exactly those two addresses', async () => {
    expect(await lab.bgpListeners(NODE.name)).toEqual([`${NODE.v4}:179`, `[${NODE.v6}]:179`].sort());
  });

  it('bird.ctl shows the IPv6-named protocol with the IPv4 route; bird6.ctl with the IPv6 route', async () => {
    const four = await lab.birdc(lab.host(NODE.name).ctl, 'show', 'route', 'protocol', PROTO);
    expect(four).toContain(ROUTER_ROUTES.v4);
    expect(four).not.toContain(ROUTER_ROUTES.v6);
    const six = await lab.birdc(lab.host(NODE.name).ctl6, 'show', 'route', 'protocol', PROTO);
    expect(six).toContain(ROUTER_ROUTES.v6);
    expect(six).not.toContain(ROUTER_ROUTES.v4);
  });
});
