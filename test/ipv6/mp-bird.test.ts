/**
 * IPv4 and IPv6 unicast on ONE session with a real BIRD 2 (issue 9): a dual-stack Petrel node's
 * BGPPeer to the router has `addressFamilies: [IPv4, IPv6]` (Petrel's extension), BIRD runs one
 * `protocol bgp` with an ipv4 and an ipv6 channel over the IPv4 transport (`next hop address` for
 * IPv6, RFC 4760). Both families come up on one TCP connection, routes of each family land in the
 * other side's kernel table of that family (IPv6 via the node's IPv6 address in MP_REACH), each
 * family gets its End-of-RIB, and both control sockets show the session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MpLab, doc, multiprotocolRouterConfig } from './mp-lab.js';

const NODE = { name: 'mp1', v4: '10.83.0.11', v6: 'fd83::11' } as const;
const ROUTER = { name: 'router', v4: '10.83.0.1', v6: 'fd83::1' } as const;
const ROUTER_ROUTES = { v4: '192.168.83.0/24', v6: 'fd99:83::/64' } as const;
const PROTO = 'Global_10_83_0_1';

const lab = new MpLab('b');
let block4 = '';
let block6 = '';


beforeAll(async () => {
  const yaml = [
    doc('BGPConfiguration', 'default', '{ asNumber: 64512, bindMode: NodeIP }'),
    doc('IPPool', 'v4-pool', '{ cidr: 10.84.0.0/24, blockSize: 26, nodeSelector: all() }'),
    doc('IPPool', 'v6-pool', "{ cidr: 'fd84::/120', nodeSelector: all() }"),
    doc('Node', NODE.name, `{ bgp: { ipv4Address: ${NODE.v4}/24, ipv6Address: '${NODE.v6}/64' } }`),
    doc('BGPPeer', 'router', `{ peerIP: ${ROUTER.v4}, asNumber: 64512, addressFamilies: [IPv4, IPv6] }`),
  ].join('---\n');
  try {
    await lab.up([NODE, ROUTER], yaml);
    block4 = await lab.allocate(NODE.name, 4);
    block6 = await lab.allocate(NODE.name, 6);
    await lab.startBird(ROUTER.name, multiprotocolRouterConfig({ router: ROUTER, node: NODE, routes: ROUTER_ROUTES, transport: 4, debug: true }));
    await lab.startPetrel(NODE.name);
  } catch (e) {
    await lab.down();
    throw e;
  }
}, 60_000);
afterAll(() => lab.down(), 30_000);

const router = () => lab.host(ROUTER.name);
const node = () => lab.host(NODE.name);

describe('one MP-BGP session with BIRD 2 carrying IPv4 and IPv6', () => {
  it('BIRD has both channels up on one protocol; there is one TCP connection', async () => {
    const all = await lab.until('both BIRD channels up', async () => {
      const out = await lab.birdc(router().ctl, 'show', 'protocols', 'all', 'node');
      return /BGP state:\s+Established/.test(out) && /Channel ipv4\s+State:\s+UP/.test(out) && /Channel ipv6\s+State:\s+UP/.test(out) ? out : undefined;
    });
    // Petrel announced multiprotocol for both families.
    expect(all).toMatch(/Neighbor capabilities[\s\S]*AF announced: ipv4 ipv6/);
    expect(await lab.bgpConnections(NODE.name)).toEqual([expect.stringMatching(new RegExp(`^${NODE.v4.replace(/\./g, '\\.')}:\\d+ ${ROUTER.v4.replace(/\./g, '\\.')}:179$|^${NODE.v4.replace(/\./g, '\\.')}:179 ${ROUTER.v4.replace(/\./g, '\\.')}:\\d+$`))]);
  });

  it("Petrel's kernel gets BIRD's IPv4 route via its IPv4 address and its IPv6 route via its IPv6 next hop, proto bird", async () => {
    const v6 = await lab.until("BIRD's v6 route in petrel's kernel", async () => (await lab.routes(NODE.name, 6)).find((r) => r.dst === ROUTER_ROUTES.v6));
    expect(v6).toMatchObject({ gateway: ROUTER.v6, protocol: 'bird', dev: 'eth0' });
    const v4 = await lab.until("BIRD's v4 route in petrel's kernel", async () => (await lab.routes(NODE.name, 4)).find((r) => r.dst === ROUTER_ROUTES.v4));
    expect(v4).toMatchObject({ gateway: ROUTER.v4, protocol: 'bird' });
  });

  it("BIRD's kernel gets the node's /26 via its IPv4 address and its /122 via its IPv6 address (MP_REACH next hop)", async () => {
    const v6 = await lab.until("the /122 in BIRD's kernel", async () => (await lab.routes(ROUTER.name, 6)).find((r) => r.dst === block6));
    expect(v6).toMatchObject({ gateway: NODE.v6, protocol: 'bird', dev: 'eth0' });
    const v4 = await lab.until("the /26 in BIRD's kernel", async () => (await lab.routes(ROUTER.name, 4)).find((r) => r.dst === block4));
    expect(v4).toMatchObject({ gateway: NODE.v4, protocol: 'bird' });
    const attrs = await lab.birdc(router().ctl, 'show', 'route', 'all', 'for', block6);
    expect(attrs).toContain(`BGP.next_hop: ${NODE.v6}`);
  });

  it('each family got its own End-of-RIB from Petrel', async () => {
    // BIRD traces "Got END-OF-RIB" once per channel (packets debug); Petrel sends one per family.
    const n = await lab.until('two End-of-RIB markers', async () => {
      const c = (router().proc?.out.match(/node: Got END-OF-RIB/g) ?? []).length;
      return c >= 2 ? c : undefined;
    });
    expect(n).toBe(2);
  });

  it('bird.ctl and bird6.ctl both show the session; each shows only its own family\'s routes', async () => {
    for (const sock of [node().ctl, node().ctl6]) {
      expect(await lab.birdc(sock, 'show', 'protocols')).toMatch(new RegExp(`${PROTO}\\s+BGP\\s+\\S+\\s+up\\s+\\S+\\s+Established`));
    }
    const r6 = await lab.birdc(node().ctl6, 'show', 'route', 'all', 'for', ROUTER_ROUTES.v6);
    expect(r6).toContain(`[${PROTO}`);
    expect(r6).toContain(`BGP.next_hop: ${ROUTER.v6}`);
    const r6proto = await lab.birdc(node().ctl6, 'show', 'route', 'protocol', PROTO);
    expect(r6proto).toContain(ROUTER_ROUTES.v6);
    expect(r6proto).not.toContain(ROUTER_ROUTES.v4);
    const r4 = await lab.birdc(node().ctl, 'show', 'route', 'protocol', PROTO);
    expect(r4).toContain(ROUTER_ROUTES.v4);
    expect(r4).not.toContain(ROUTER_ROUTES.v6);
  });

  it('petrelctl node status lists the router in the IPv4 and the IPv6 BGP status tables', async () => {
    const out = await lab.petrelctl('node', 'status', '--ctl-socket', node().ctl, '--ctl-socket6', node().ctl6);
    const v4 = out.slice(out.indexOf('IPv4 BGP status'), out.indexOf('IPv6 BGP status'));
    const v6 = out.slice(out.indexOf('IPv6 BGP status'));
    for (const table of [v4, v6]) expect(table).toMatch(new RegExp(`\\| ${ROUTER.v4.replace(/\./g, '\\.')}\\s+\\| global\\s+\\| up\\s+\\|.*\\| Established`));
  });

  it('bindMode NodeIP on a dual-stack node: Petrel listens on its IPv4 and its IPv6 address, nowhere else', async () => {
    expect(await lab.bgpListeners(NODE.name)).toEqual([`${NODE.v4}:179`, `[${NODE.v6}]:179`].sort());
  });
});
