/**
 * IPv6 against a real BIRD 2 (issue 9): a dual-stack Petrel node peers with a BIRD router over an
 * IPv4 and an IPv6 transport session (two global BGPPeers, as Calico configures them). The node's
 * /122 from the IPv6 pool reaches BIRD's IPv6 kernel table via the node's IPv6 address, BIRD's
 * IPv6 routes land in Petrel's kernel IPv6 table with `proto bird` via BIRD's global address
 * (RFC 2545: the global next hop is the one to use), and the IPv4 side works alongside.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../tools/lab/netns.js';
import { BIRD, BIRD_ROUTES, DualStackLab, NODE } from './bird-lab.js';
import { labForFile } from '../support/lab-lifecycle.js';

const lab = new DualStackLab();

labForFile(lab, {
  upTimeoutMs: 40_000,
  downTimeoutMs: 30_000,
});

describe('dual stack with BIRD 2', () => {
  it('the node gets a /122 from the IPv6 pool (default block size) and a /26 from the IPv4 pool', () => {
    expect(lab.block6).toMatch(/^fd82::(\w+)?\/122$/);
    expect(lab.block4).toMatch(/^10\.82\.0\.\d+\/26$/);
  });

  it('one IPv4 and one IPv6 session come up; each control socket shows its own family', async () => {
    await lab.until('both BIRD sessions established', async () => {
      const out = await run('birdc', ['-s', lab.birdCtl, 'show', 'protocols']);
      return /node_v4\s+BGP\s+\S+\s+up\s+\S+\s+Established/.test(out) && /node_v6\s+BGP\s+\S+\s+up\s+\S+\s+Established/.test(out);
    });
    const four = await run('birdc', ['-s', lab.ctl, 'show', 'protocols']);
    const six = await run('birdc', ['-s', lab.ctl6, 'show', 'protocols']);
    expect(four).toMatch(/Global_10_81_0_1\s+BGP\s+\S+\s+up/);
    expect(four).not.toContain('Global_fd81__1');
    expect(six).toMatch(/Global_fd81__1\s+BGP\s+\S+\s+up/);
    expect(six).not.toContain('Global_10_81_0_1');
  });

  it("BIRD's IPv6 kernel table holds the node's /122 via the node's IPv6 address (and the /26 via its IPv4 one)", async () => {
    const v6 = await lab.until('the /122 in BIRD\'s kernel', async () => (await lab.routes(lab.birdNs, 6)).find((r) => r.dst === lab.block6));
    expect(v6).toMatchObject({ gateway: NODE.v6, protocol: 'bird', dev: 'eth0' });
    const v4 = await lab.until('the /26 in BIRD\'s kernel', async () => (await lab.routes(lab.birdNs, 4)).find((r) => r.dst === lab.block4));
    expect(v4).toMatchObject({ gateway: NODE.v4, protocol: 'bird' });
    // BIRD learned it with the node's global address as next hop, nothing else.
    const all = await run('birdc', ['-s', lab.birdCtl, 'show', 'route', 'all', 'for', lab.block6]);
    expect(all).toContain(`BGP.next_hop: ${NODE.v6}`);
  });

  it("Petrel's kernel IPv6 table holds BIRD's routes, proto bird, via BIRD's global address", async () => {
    const rs = await lab.until('BIRD\'s v6 routes in petrel\'s kernel', async () => {
      const t = await lab.routes(lab.nodeNs, 6);
      const a = t.find((r) => r.dst === BIRD_ROUTES.v6);
      const b = t.find((r) => r.dst === BIRD_ROUTES.v6LinkLocal);
      return a && b ? [a, b] : undefined;
    });
    for (const r of rs) expect(r).toMatchObject({ gateway: BIRD.v6, protocol: 'bird', dev: 'eth0' });
    // The static route's link-local gateway is not what BIRD announces: never installed via fe80.
    expect(rs.some((r) => r.gateway?.startsWith('fe80'))).toBe(false);
    const v4 = await lab.until('BIRD\'s v4 route in petrel\'s kernel', async () => (await lab.routes(lab.nodeNs, 4)).find((r) => r.dst === BIRD_ROUTES.v4));
    expect(v4).toMatchObject({ gateway: BIRD.v4, protocol: 'bird' });
    // The own /122 is a blackhole, as Calico's static protocol programs it.
    const own = (await lab.routes(lab.nodeNs, 6)).find((r) => r.dst === lab.block6);
    expect(own).toMatchObject({ type: 'blackhole', protocol: 'bird' });
  });

  it('bird6.ctl shows the learned IPv6 route with its BGP attributes', async () => {
    const out = await run('birdc', ['-s', lab.ctl6, 'show', 'route', 'all', 'for', BIRD_ROUTES.v6]);
    expect(out).toContain(BIRD_ROUTES.v6);
    expect(out).toContain(`BGP.next_hop: ${BIRD.v6}`);
    expect(out).toContain('[Global_fd81__1');
  });

  it("BIRD stopping withdraws its IPv6 routes from Petrel's kernel; the own blackhole stays", async () => {
    lab.bird?.signal('SIGTERM');
    await lab.bird?.waitExit();
    await lab.until('BIRD\'s v6 routes gone from petrel\'s kernel', async () => {
      const t = await lab.routes(lab.nodeNs, 6);
      return !t.some((r) => r.dst === BIRD_ROUTES.v6 || r.dst === BIRD_ROUTES.v6LinkLocal);
    });
    expect((await lab.routes(lab.nodeNs, 6)).find((r) => r.dst === lab.block6)).toMatchObject({ type: 'blackhole' });
  });
});
