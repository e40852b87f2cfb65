/**
 * Issue 6 end to end: Debian's real `birdc` (bird2 package) and `petrelctl node status` against a
 * live petrel in a three-node mesh with a real BIRD 2 bastion as global peer. The answers must be
 * what an operator gets from calico-node's BIRD: protocol rows, per-peer details, routes, status,
 * calicoctl's table; and after the bastion stops, its row shows BIRD's state and socket error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../tools/lab/netns.js';
import { MeshLab, type PetrelNode } from './mesh-fixture.js';

const lab = new MeshLab('c', 2);
let n1: PetrelNode;
let n2: PetrelNode;
let n3: PetrelNode;
const birdc = (...cmd: string[]) => run('birdc', ['-s', n1.ctl, ...cmd]);
const meshName = (n: PetrelNode) => `Mesh_${n.ip.replaceAll('.', '_')}`;
const GLOBAL = 'Global_10_77_2_1';

interface StatusRow {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

/** Rows of calicoctl's `IPv4 BGP status` box table (a wrapped INFO cell continues on the next line). */
function statusRows(text: string): StatusRow[] {
  const section = text.split('IPv4 BGP status')[1]?.split('IPv6 BGP status')[0] ?? '';
  const rows: StatusRow[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'PEER ADDRESS') continue;
    const prev = rows.at(-1);
    if (cells[0] === '' && prev) {
      rows[rows.length - 1] = { ...prev, info: `${prev.info} ${cells[4] ?? ''}`.trim() };
      continue;
    }
    rows.push({ peerAddress: cells[0] ?? '', peerType: cells[1] ?? '', state: cells[2] ?? '', since: cells[3] ?? '', info: cells[4] ?? '' });
  }
  return rows;
}

const nodeStatus = () => lab.petrelctl(['--ctl-socket', n1.ctl, 'node', 'status'], n1.ns);

beforeAll(async () => {
  try {
    await lab.up();
    [n1, n2, n3] = lab.nodes as [PetrelNode, PetrelNode, PetrelNode];
    await lab.until('node1 to have its three sessions up and both mesh routes', async () => {
      const up = statusRows(await nodeStatus()).filter((r) => r.info === 'Established').length === 3;
      return up && (await lab.birdRoutes(n1.ns)).length === 3 && (await lab.birdRoutes(lab.bastion.ns)).length === 3;
    }, 40_000);
  } catch (e) {
    await lab.down();
    throw e;
  }
}, 90_000);
afterAll(() => lab.down(), 60_000);

describe('birdc against a running petrel', () => {
  it('show status: version, router id, times, up and running', async () => {
    const out = await birdc('show', 'status');
    expect(out).toMatch(/^BIRD \S+ ready\.$/m);
    expect(out).toMatch(/^BIRD v?\d\S*$/m);
    expect(out).toContain(`Router ID is ${n1.ip}\n`);
    expect(out).toMatch(/^Current server time is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/m);
    expect(out).toMatch(/^Last reboot on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/m);
    expect(out).toMatch(/^Daemon is up and running$/m);
  });

  it('show protocols: the header, the static/kernel/device rows and every BGP peer up and Established', async () => {
    const out = await birdc('show', 'protocols');
    expect(out).toMatch(/^name\s+proto\s+table\s+state\s+since\s+info\s*$/m);
    for (const [name, proto] of [['static1', 'Static'], ['kernel1', 'Kernel'], ['device1', 'Device']]) {
      expect(out).toMatch(new RegExp(`^${name}\\s+${proto}\\s+master\\s+up\\s+\\d\\d:\\d\\d:\\d\\d`, 'm'));
    }
    for (const name of [GLOBAL, meshName(n2), meshName(n3)]) {
      expect(out).toMatch(new RegExp(`^${name}\\s+BGP\\s+master\\s+up\\s+\\d\\d:\\d\\d:\\d\\d\\s+Established\\s*$`, 'm'));
    }
    expect(out.split('\n').filter((l) => /\sBGP\s/.test(l))).toHaveLength(3);
  });

  it('show protocols all <mesh peer>: state, neighbour, source, timers and route counts', async () => {
    const out = await birdc('show', 'protocols', 'all', meshName(n2));
    const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*?)\\s*$`, 'm').exec(out)?.[1];
    expect(out).toMatch(new RegExp(`^${meshName(n2)}\\s+BGP\\s+master\\s+up\\s+\\S+\\s+Established`, 'm'));
    expect(field('BGP state')).toBe('Established');
    expect(field('Neighbor address')).toBe(n2.ip);
    expect(field('Neighbor AS')).toBe('64512');
    expect(field('Neighbor ID')).toBe(n2.ip);
    expect(field('Source address')).toBe(n1.ip);
    expect(field('Session')).toMatch(/^internal\b.*\bAS4\b/);
    expect(field('Neighbor caps')).toMatch(/\bAS4\b/);
    // One block learned from node2, our one block sent to it (nothing iBGP-learned is passed on).
    expect(field('Routes')).toBe('1 imported, 1 exported, 1 preferred');
    expect(field('Hold timer')).toMatch(/^\d+\/240$/);
    expect(field('Keepalive timer')).toMatch(/^\d+\/80$/);
    expect(out).toMatch(/^\s+Import updates:\s+1\s+0\s+0\s+0\s+1\s*$/m);
  });

  it('show protocols all <global peer>: the bastion learns our block and sends nothing', async () => {
    const out = await birdc('show', 'protocols', 'all', GLOBAL);
    expect(out).toMatch(/^\s+BGP state:\s+Established\s*$/m);
    expect(out).toMatch(new RegExp(`^\\s+Neighbor address:\\s+${lab.bastion.ip.replaceAll('.', '\\.')}\\s*$`, 'm'));
    expect(out).toMatch(/^\s+Routes:\s+0 imported, 1 exported, 0 preferred\s*$/m);
  });

  it('show route: our blackhole from static1 and each mesh block via its node on tunl0', async () => {
    const out = await birdc('show', 'route');
    const lines = out.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+\/\d+/.test(l));
    expect(lines).toHaveLength(3);
    const esc = (s: string) => s.replaceAll('.', '\\.');
    expect(out).toMatch(new RegExp(`^${esc(n1.block)}\\s+blackhole \\[static1 \\d\\d:\\d\\d:\\d\\d\\] \\* \\(200\\)\\s*$`, 'm'));
    for (const o of [n2, n3]) {
      expect(out).toMatch(new RegExp(`^${esc(o.block)}\\s+via ${esc(o.ip)} on tunl0 onlink \\[${meshName(o)} \\d\\d:\\d\\d:\\d\\d\\] \\* \\(100/0\\) \\[i\\]\\s*$`, 'm'));
    }
    // `for <address>` finds the covering block; `protocol <p>` keeps that peer's routes.
    const forAddr = await birdc('show', 'route', 'for', n2.addr);
    expect(forAddr).toContain(`${n2.block}`);
    expect(forAddr).toContain(`via ${n2.ip} on tunl0`);
    const byProto = await birdc('show', 'route', 'protocol', meshName(n3));
    expect(byProto).toContain(n3.block);
    expect(byProto).not.toContain(n2.block);
  });

  it("the bastion's own BIRD agrees: three Established sessions and three blocks", async () => {
    const protos = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'protocols']);
    for (const n of lab.nodes) expect(protos).toMatch(new RegExp(`^${n.name}\\s+BGP\\s+---\\s+up\\s+\\S+\\s+Established`, 'm'));
    const rs = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'route']);
    for (const n of lab.nodes) expect(rs).toMatch(new RegExp(`^${n.block.replaceAll('.', '\\.')}\\s+unicast \\[${n.name} [^\\]]+\\] \\* \\(100\\) \\[i\\]`, 'm'));
  });
});

describe('petrelctl node status against the live mesh', () => {
  it("shows calicoctl's table: the bastion global, both mesh peers node-to-node mesh, all up and Established", async () => {
    const text = await nodeStatus();
    expect(text.startsWith('Calico process is running.\n')).toBe(true);
    expect(text).toContain('IPv4 BGP status');
    expect(text).toMatch(/^\| PEER ADDRESS \|\s+PEER TYPE\s+\| STATE \|\s+SINCE\s+\|\s+INFO\s+\|$/m);
    expect(statusRows(text).map((r) => [r.peerAddress, r.peerType, r.state, r.info])).toEqual([
      [lab.bastion.ip, 'global', 'up', 'Established'],
      [n2.ip, 'node-to-node mesh', 'up', 'Established'],
      [n3.ip, 'node-to-node mesh', 'up', 'Established'],
    ]);
    for (const r of statusRows(text)) expect(r.since).toMatch(/^\d\d:\d\d:\d\d$/);
  });

  it('-o json carries the same rows', async () => {
    const json = JSON.stringify(JSON.parse(await lab.petrelctl(['--ctl-socket', n1.ctl, 'node', 'status', '-o', 'json'], n1.ns)));
    expect(json).toContain('"calicoProcess":"running"');
    for (const ip of [lab.bastion.ip, n2.ip, n3.ip]) expect(json).toContain(ip);
    expect(json).toContain('Established');
  });

  it("after the bastion stops, its row shows BIRD's state and socket error; the mesh rows do not move", async () => {
    const before = statusRows(await nodeStatus());
    await lab.stopBastion();
    const rows = await lab.until('the global row to show a socket error', async () => {
      const r = statusRows(await nodeStatus());
      return r.find((x) => x.peerType === 'global')?.info.includes('Socket:') ? r : undefined;
    }, 30_000);
    const global = rows.find((r) => r.peerType === 'global');
    expect(global?.peerAddress).toBe(lab.bastion.ip);
    expect(global?.state).toBe('start');
    expect(global?.info).toMatch(/^(Active|Connect) +Socket: Connection refused$/);
    expect(rows.filter((r) => r.peerType !== 'global')).toEqual(before.filter((r) => r.peerType !== 'global'));
    // birdc tells the same story, with the error BIRD-style.
    const all = await birdc('show', 'protocols', 'all', GLOBAL);
    expect(all).toMatch(new RegExp(`^${GLOBAL}\\s+BGP\\s+master\\s+start\\s+\\S+\\s+(Active|Connect)\\s+Socket: Connection refused`, 'm'));
    expect(all).toMatch(/^\s+BGP state:\s+(Active|Connect)\s*$/m);
    expect(all).toMatch(/^\s+Last error:\s+Socket: Connection refused\s*$/m);
  });
});
