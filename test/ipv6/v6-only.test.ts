/**
 * An IPv6-only Petrel node (no IPv4 address, no CALICO_ROUTER_ID) against a real BIRD 2: it runs
 * with the router id derived from its name, BIRD sees that id in the OPEN, and routes flow both
 * ways over the IPv6 session.
 */
import { describe, expect, it } from 'vitest';
import { chooseRouterId } from '../../config/index.js';
import { run } from '../../tools/lab/netns.js';
import { BIRD, BIRD_ROUTES, DualStackLab, NODE } from './bird-lab.js';
import { labForFile } from '../support/lab-lifecycle.js';

const lab = new DualStackLab(true);
const derived = chooseRouterId(NODE.name, undefined, { CALICO_ROUTER_ID: 'hash' });

labForFile(lab, {
  upTimeoutMs: 40_000,
  downTimeoutMs: 30_000,
});

describe('IPv6-only node', () => {
  it('runs with the name-derived router id, and BIRD sees it as the neighbor id', async () => {
    const status = await run('birdc', ['-s', lab.ctl6, 'show', 'status']);
    expect(status).toContain(`Router ID is ${derived}`);
    const proto = await lab.until('the v6 session at BIRD', async () => {
      const out = await run('birdc', ['-s', lab.birdCtl, 'show', 'protocols', 'all', 'node_v6']);
      return /Established/.test(out) ? out : undefined;
    });
    expect(proto).toMatch(new RegExp(`Neighbor ID:\\s+${derived.replaceAll('.', '\\.')}`));
  });

  it('exchanges IPv6 routes: the /122 at BIRD via the node, BIRD\'s route in the node\'s kernel', async () => {
    const v6 = await lab.until('the /122 in BIRD\'s kernel', async () => (await lab.routes(lab.birdNs, 6)).find((r) => r.dst === lab.block6));
    expect(v6).toMatchObject({ gateway: NODE.v6, protocol: 'bird' });
    const learned = await lab.until('BIRD\'s route in the node\'s kernel', async () => (await lab.routes(lab.nodeNs, 6)).find((r) => r.dst === BIRD_ROUTES.v6));
    expect(learned).toMatchObject({ gateway: BIRD.v6, protocol: 'bird' });
    // No IPv4 session, no IPv4 routes of ours.
    expect((await lab.routes(lab.nodeNs, 4)).filter((r) => r.protocol === 'bird')).toEqual([]);
  });
});
