/**
 * Issues 6 and 9 end to end: Debian's real `birdc` (bird2 package) and `petrelctl node status`
 * against a live petrel in a dual-stack three-node mesh with a real BIRD 2 bastion as global peer
 * (one session per family). The answers must be what an operator gets from calico-node's BIRDs:
 * bird.ctl for the IPv4 protocols and bird6.ctl for the IPv6 ones (protocol rows, per-peer
 * details, routes, status), calicoctl's IPv4 and IPv6 tables; and after the bastion stops, its
 * rows show BIRD's state and socket error.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addNamespace, run } from '../../tools/lab/netns.js';
import { MAIN, MeshLab, NsProcess, type PetrelNode } from './mesh-fixture.js';
import { labForFile } from '../support/lab-lifecycle.js';
import { parseNodeStatus as statusRows, type StatusRow } from '../support/node-status-table.js';

const lab = new MeshLab('c', 2);
let n1: PetrelNode;
let n2: PetrelNode;
let n3: PetrelNode;
const birdc = (...cmd: string[]) => run('birdc', ['-s', n1.ctl, ...cmd]);
/** birdc on node1's IPv6 socket (bird6.ctl's role). */
const birdc6 = (...cmd: string[]) => run('birdc', ['-s', n1.ctl6, ...cmd]);
const meshName = (n: PetrelNode) => `Mesh_${n.ip.replaceAll('.', '_')}`;
const meshName6 = (n: PetrelNode) => `Mesh_${n.ip6.replaceAll(':', '_')}`;
const GLOBAL = 'Global_10_77_2_1';
const GLOBAL6 = 'Global_fd77_2__1';

/** birdc's output (stdout and stderr) and exit code, failing or not. */
function birdcResult(sock: string, ...cmd: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('birdc', ['-s', sock, ...cmd]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The `since` column of a protocol row in `show protocols`. */
async function since(sock: string, proto: string): Promise<string | undefined> {
  const row = (await run('birdc', ['-s', sock, 'show', 'protocols', proto])).split('\n').find((l) => l.startsWith(`${proto} `));
  return row?.split(/\s+/)[4];
}

const logCount = (n: PetrelNode, peer: string, msg: string) =>
  (n.proc?.out ?? '').split('\n').filter((l) => l.includes(`"peer":"${peer}"`) && l.includes(`"msg":"${msg}"`)).length;

const nodeStatus = () => lab.petrelctl(['--ctl-socket', n1.ctl, 'node', 'status', '--ctl-socket6', n1.ctl6], n1.ns);

labForFile(lab, {
  ready: async () => {
    [n1, n2, n3] = lab.nodes as [PetrelNode, PetrelNode, PetrelNode];
    await lab.until('node1 to have its three sessions of each family up and both mesh routes of each family, and the bastion its six sessions', async () => {
      const text = await nodeStatus();
      const up = statusRows(text).filter((r) => r.info === 'Established').length === 3 && statusRows(text, 6).filter((r) => r.info === 'Established').length === 3;
      // The bastion dials while the nodes' own first dials are retried: a start-up collision can
      // leave one of its sessions in Active for a connect-retry time.
      const bastionUp = ((await run('birdc', ['-s', lab.bastion.ctl, 'show', 'protocols'])).match(/\sEstablished/g) ?? []).length === 6;
      return up && bastionUp && (await lab.birdRoutes(n1.ns)).length === 3 && (await lab.birdRoutes(lab.bastion.ns)).length === 3 &&
        (await lab.birdRoutes6(n1.ns)).length === 3 && (await lab.birdRoutes6(lab.bastion.ns)).length === 3;
    }, 40_000);
  },
  upTimeoutMs: 90_000,
});

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

  it('show route: our blackhole from static1 and each mesh block via its node on the underlay interface, as BIRD shows a recursive BGP next hop', async () => {
    const out = await birdc('show', 'route');
    const lines = out.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+\/\d+/.test(l));
    expect(lines).toHaveLength(3);
    const esc = (s: string) => s.replaceAll('.', '\\.');
    expect(out).toMatch(new RegExp(`^${esc(n1.block)}\\s+blackhole \\[static1 \\d\\d:\\d\\d:\\d\\d\\] \\* \\(200\\)\\s*$`, 'm'));
    for (const o of [n2, n3]) {
      expect(out).toMatch(new RegExp(`^${esc(o.block)}\\s+via ${esc(o.ip)} on eth0 \\[${meshName(o)} \\d\\d:\\d\\d:\\d\\d\\] \\* \\(100/0\\) \\[i\\]\\s*$`, 'm'));
    }
    // `for <address>` finds the covering block; `protocol <p>` keeps that peer's routes.
    const forAddr = await birdc('show', 'route', 'for', n2.addr);
    expect(forAddr).toContain(`${n2.block}`);
    expect(forAddr).toContain(`via ${n2.ip} on eth0`);
    const byProto = await birdc('show', 'route', 'protocol', meshName(n3));
    expect(byProto).toContain(n3.block);
    expect(byProto).not.toContain(n2.block);
  });

  it("the bastion's own BIRD agrees: three Established sessions and three blocks per family", async () => {
    const protos = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'protocols']);
    for (const n of lab.nodes) expect(protos).toMatch(new RegExp(`^${n.name}\\s+BGP\\s+---\\s+up\\s+\\S+\\s+Established`, 'm'));
    for (const n of lab.nodes) expect(protos).toMatch(new RegExp(`^${n.name}_v6\\s+BGP\\s+---\\s+up\\s+\\S+\\s+Established`, 'm'));
    const rs = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'route']);
    for (const n of lab.nodes) expect(rs).toMatch(new RegExp(`^${n.block.replaceAll('.', '\\.')}\\s+unicast \\[${n.name} [^\\]]+\\] \\* \\(100\\) \\[i\\]`, 'm'));
    for (const n of lab.nodes) expect(rs).toMatch(new RegExp(`^${n.block6}\\s+unicast \\[${n.name}_v6 [^\\]]+\\] \\* \\(100\\) \\[i\\]`, 'm'));
  });
});

describe('birdc against the IPv6 control socket (bird6.ctl)', () => {
  it('show status answers with the same router id (the node\'s IPv4 address)', async () => {
    const out = await birdc6('show', 'status');
    expect(out).toContain(`Router ID is ${n1.ip}\n`);
    expect(out).toMatch(/^Daemon is up and running$/m);
  });

  it('show protocols: the IPv6 global and both IPv6 mesh peers up and Established, and no IPv4 peer', async () => {
    const out = await birdc6('show', 'protocols');
    for (const name of [GLOBAL6, meshName6(n2), meshName6(n3)]) {
      expect(out).toMatch(new RegExp(`^${name}\\s+BGP\\s+master\\s+up\\s+\\d\\d:\\d\\d:\\d\\d\\s+Established\\s*$`, 'm'));
    }
    expect(out.split('\n').filter((l) => /\sBGP\s/.test(l))).toHaveLength(3);
    expect(out).not.toContain(GLOBAL);
    expect(await birdc('show', 'protocols')).not.toContain(GLOBAL6);
  });

  it('show protocols all <IPv6 mesh peer>: neighbour and source are the IPv6 addresses, one /122 each way', async () => {
    const out = await birdc6('show', 'protocols', 'all', meshName6(n2));
    const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*?)\\s*$`, 'm').exec(out)?.[1];
    expect(field('BGP state')).toBe('Established');
    expect(field('Neighbor address')).toBe(n2.ip6);
    expect(field('Source address')).toBe(n1.ip6);
    expect(field('Neighbor AS')).toBe('64512');
    expect(field('Routes')).toBe('1 imported, 1 exported, 1 preferred');
  });

  it('show route: our /122 blackhole and each mesh /122 via its node\'s IPv6 address', async () => {
    const out = await birdc6('show', 'route');
    const lines = out.split('\n').filter((l) => /^[0-9a-f:]+\/\d+/.test(l));
    expect(lines).toHaveLength(3);
    expect(out).toMatch(new RegExp(`^${n1.block6}\\s+blackhole \\[static1 \\d\\d:\\d\\d:\\d\\d\\] \\* \\(200\\)\\s*$`, 'm'));
    for (const o of [n2, n3]) {
      expect(out).toMatch(new RegExp(`^${o.block6}\\s+via ${o.ip6} on eth0 \\[${meshName6(o)} \\d\\d:\\d\\d:\\d\\d\\] \\* \\(100/0\\) \\[i\\]\\s*$`, 'm'));
    }
    // bird.ctl shows only the IPv4 table.
    expect(await birdc('show', 'route')).not.toContain(n1.block6);
    expect(await birdc6('show', 'route', 'for', n2.addr6)).toContain(n2.block6);
  });
});

describe('birdc operator commands against the live petrel', () => {
  it('show memory, show interfaces and show route count describe this node', async () => {
    const mem = await birdc('show', 'memory');
    expect(mem).toMatch(/^BIRD memory usage$/m);
    expect(mem).toMatch(/^\s*Total:\s+\d+(\.\d+)? ?[kMG]?B\b/m);
    const ifs = await birdc('show', 'interfaces');
    expect(ifs).toMatch(/^eth0 up \(index=\d+\)$/m);
    expect(ifs).toContain(`\t${n1.ip}/24 (`);
    expect(ifs).toMatch(/^tunl0 up \(index=\d+\)$/m);
    expect(await birdc('show', 'route', 'count')).toMatch(/^3 of 3 routes for 3 networks$/m);
  });

  it('configure check and configure re-read the datastore; with nothing changed no session moves', async () => {
    const before = await Promise.all([GLOBAL, meshName(n2), meshName(n3)].map((p) => since(n1.ctl, p)));
    const check = await birdc('configure', 'check');
    expect(check).toContain(`Reading configuration from ${lab.datastore}`);
    expect(check).toMatch(/^Configuration OK$/m);
    expect(await birdc('configure')).toMatch(/^Reconfigured$/m);
    expect(await Promise.all([GLOBAL, meshName(n2), meshName(n3)].map((p) => since(n1.ctl, p)))).toEqual(before);
    expect(statusRows(await nodeStatus()).every((r) => r.info === 'Established')).toBe(true);
  });

  it('syntax errors are answered as errors and birdc exits non-zero', async () => {
    const junk = await birdcResult(n1.ctl, 'show', 'protocols', 'all', meshName(n2), 'bogus');
    expect(junk.code).not.toBe(0);
    expect(junk.out).toMatch(/syntax error/);
    const missing = await birdcResult(n1.ctl, 'show', 'route', 'for');
    expect(missing.code).not.toBe(0);
    expect(missing.out).toMatch(/syntax error/);
    // The daemon is unharmed.
    expect(await birdc('show', 'status')).toMatch(/^Daemon is up and running$/m);
  });

  it('disable <mesh peer> withdraws the routes on both sides and the peer sees an administrative shutdown; enable restores them', async () => {
    expect(await birdc('disable', meshName(n2))).toMatch(new RegExp(`^${meshName(n2)}: disabled$`, 'm'));
    await lab.until("node2's block to leave node1 and node1's block to leave node2", async () =>
      !(await lab.birdRoutes(n1.ns)).some((r) => r.dst === n2.block) && !(await lab.birdRoutes(n2.ns)).some((r) => r.dst === n1.block), 15_000);
    expect(await birdc('show', 'protocols', meshName(n2))).toMatch(new RegExp(`^${meshName(n2)}\\s+BGP\\s+master\\s+down\\s+\\d\\d:\\d\\d:\\d\\d\\s*$`, 'm'));
    const far = await run('birdc', ['-s', n2.ctl, 'show', 'protocols', 'all', meshName(n1)]);
    expect(far).toMatch(/^\s+Last error:\s+Received: Administrative shutdown\s*$/m);
    // node3's routes are untouched on node1.
    expect((await lab.birdRoutes(n1.ns)).some((r) => r.dst === n3.block)).toBe(true);

    expect(await birdc('enable', meshName(n2))).toMatch(new RegExp(`^${meshName(n2)}: enabled$`, 'm'));
    await lab.until('the node1–node2 session and both routes back', async () =>
      (await lab.birdRoutes(n1.ns)).some((r) => r.dst === n2.block) && (await lab.birdRoutes(n2.ns)).some((r) => r.dst === n1.block), 30_000);
    expect(await birdc('show', 'protocols', meshName(n2))).toMatch(/\sup\s+\S+\s+Established/);
  });

  it('restart <peer> drops and re-establishes the session', async () => {
    const established = logCount(n1, meshName(n3), 'session established');
    expect(await birdc('restart', meshName(n3))).toMatch(new RegExp(`^${meshName(n3)}: restarted$`, 'm'));
    await lab.until('node1–node3 to be established again', async () =>
      logCount(n1, meshName(n3), 'session established') > established && / up\s+\S+\s+Established/.test(await birdc('show', 'protocols', meshName(n3))), 30_000);
    expect((await lab.birdRoutes(n1.ns)).some((r) => r.dst === n3.block)).toBe(true);
  });
});

describe('the control socket file', () => {
  it('a second daemon on the same socket path refuses to start and leaves the first one serving', async () => {
    const ns = `${lab.prefix}-dup`;
    await addNamespace(ns);
    const dup = lab.adopt(new NsProcess('second petrel on node1.ctl', ns, [process.execPath, MAIN, '--node', 'node1', '--listen', '127.0.0.1:179', '--ctl-socket', n1.ctl, '--sink', 'mock', '--log-level', 'info'], { PETREL_DATASTORE: lab.datastore }));
    const exit = await dup.waitExit(20_000);
    expect(exit.code).toBe(1);
    expect(dup.out).toContain(`petrel: control socket ${n1.ctl}: another daemon is listening on ${n1.ctl}`);
    expect(await birdc('show', 'status')).toMatch(/^Daemon is up and running$/m);
  });

  it('a socket file left by a killed daemon is replaced when it starts again', async () => {
    const established = logCount(n1, meshName(n3), 'session established');
    n3.proc?.signal('SIGKILL');
    await n3.proc?.waitExit();
    expect(existsSync(n3.ctl) && lstatSync(n3.ctl).isSocket()).toBe(true);
    expect((await birdcResult(n3.ctl, 'show', 'status')).code).not.toBe(0);
    await lab.waitReady(lab.startPetrel('node3', 'kernel'), n3.ctl);
    expect(await run('birdc', ['-s', n3.ctl, 'show', 'status'])).toMatch(/^Daemon is up and running$/m);
    // Both families: the IPv6 session is a session of its own, dialled on its own jittered connect
    // delay, and the next tests read both tables.
    await lab.until('node1–node3 to be established again, IPv4 and IPv6', async () =>
      logCount(n1, meshName(n3), 'session established') > established &&
        / up\s+\S+\s+Established/.test(await birdc('show', 'protocols', meshName(n3))) &&
        / up\s+\S+\s+Established/.test(await birdc6('show', 'protocols', meshName6(n3))), 40_000);
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

  it("shows calicoctl's IPv6 table with the same peers by their IPv6 addresses, all up and Established", async () => {
    const text = await nodeStatus();
    expect(text).toContain('IPv6 BGP status');
    expect(text).not.toContain('No IPv6 peers found');
    expect(statusRows(text, 6).map((r) => [r.peerAddress, r.peerType, r.state, r.info])).toEqual([
      [lab.bastion.ip6, 'global', 'up', 'Established'],
      [n2.ip6, 'node-to-node mesh', 'up', 'Established'],
      [n3.ip6, 'node-to-node mesh', 'up', 'Established'],
    ]);
    for (const r of statusRows(text, 6)) expect(r.since).toMatch(/^\d\d:\d\d:\d\d$/);
  });

  it('-o json carries the same rows', async () => {
    const json = JSON.stringify(JSON.parse(await lab.petrelctl(['--ctl-socket', n1.ctl, 'node', 'status', '-o', 'json'], n1.ns)));
    expect(json).toContain('"calicoProcess":"running"');
    for (const ip of [lab.bastion.ip, n2.ip, n3.ip]) expect(json).toContain(ip);
    expect(json).toContain('Established');
  });

  it("after the bastion stops, its rows show BIRD's state and socket error; the mesh rows do not move", async () => {
    const beforeText = await nodeStatus();
    const before = statusRows(beforeText);
    const before6 = statusRows(beforeText, 6);
    await lab.stopBastion();
    const [rows, rows6] = await lab.until('the global rows of both families to show a socket error', async () => {
      const text = await nodeStatus();
      const r = statusRows(text);
      const r6 = statusRows(text, 6);
      const failed = (rs: StatusRow[]) => rs.find((x) => x.peerType === 'global')?.info.includes('Socket:');
      return failed(r) && failed(r6) ? [r, r6] : undefined;
    }, 30_000);
    const global6 = rows6.find((r) => r.peerType === 'global');
    expect(global6?.peerAddress).toBe(lab.bastion.ip6);
    expect(global6?.state).toBe('start');
    expect(global6?.info).toMatch(/^(Active|Connect) +Socket: Connection refused$/);
    expect(rows6.filter((r) => r.peerType !== 'global')).toEqual(before6.filter((r) => r.peerType !== 'global'));
    expect(await birdc6('show', 'protocols', 'all', GLOBAL6)).toMatch(/^\s+Last error:\s+Socket: Connection refused\s*$/m);
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
