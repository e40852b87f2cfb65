/**
 * Interop with a real BIRD 2 in network namespaces, over IPv4 and over IPv6 transport (as Calico
 * runs bird and bird6): petrel in one namespace (10.0.9.1, fd00:9::1), BIRD in another
 * (10.0.9.2, fd00:9::2), a veth between them. Each family's cases run a BIRD bgp protocol with
 * that family's channel against petrel's session to the BGPPeer of that family. The namespaces are
 * created here and removed in afterAll, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace, nsExec, run, waitFor } from '../../tools/lab/netns.js';
import { ensureBuilt, established, MAIN, PetrelProcess } from '../daemon/petrel-process.js';
import { birdBgpProtocol } from '../support/bird-config.js';
import { addAddress6, linkDualStack } from '../support/dual-stack-link.js';

const tag = `${process.pid % 100000}`;
const NS_P = `pt-sess-${tag}-p`;
const NS_B = `pt-sess-${tag}-b`;

/** One transport family: the addresses on each side, BIRD's channel, petrel's name for the peer. */
interface Transport {
  readonly family: 4 | 6;
  readonly petrel: string;
  readonly bird: string;
  /** A second address in BIRD's namespace that no config mentions. */
  readonly stranger: string;
  readonly len: number;
  readonly channel: 'ipv4' | 'ipv6';
  readonly peer: string;
}

const V4: Transport = { family: 4, petrel: '10.0.9.1', bird: '10.0.9.2', stranger: '10.0.9.3', len: 24, channel: 'ipv4', peer: 'Global_10_0_9_2' };
const V6: Transport = { family: 6, petrel: 'fd00:9::1', bird: 'fd00:9::2', stranger: 'fd00:9::3', len: 64, channel: 'ipv6', peer: 'Global_fd00_9__2' };
// Both daemons take their router id from their IPv4 address, whatever the session's transport.
const PETREL_ID = V4.petrel;
const BIRD_ID = V4.bird;

let dir: string;
let bird: ChildProcess | undefined;
let birdLog = '';
const petrels: PetrelProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'pt-sess-bird-'));
  const cidr = (t: Transport, a: string) => `${a}/${t.len}`;
  await linkDualStack({ ns: NS_P, v4: cidr(V4, V4.petrel), v6: cidr(V6, V6.petrel) }, { ns: NS_B, v4: cidr(V4, V4.bird), v6: cidr(V6, V6.bird) });
  await nsExec(NS_B, 'ip', ['addr', 'add', cidr(V4, V4.stranger), 'dev', 'eth0']);
  await addAddress6(NS_B, cidr(V6, V6.stranger));
}, 60_000);

afterEach(async () => {
  await Promise.all(petrels.splice(0).map((p) => p.kill()));
  await stopBird();
});

afterAll(async () => {
  await deleteNamespace(NS_P).catch(() => undefined);
  await deleteNamespace(NS_B).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

const birdSock = () => join(dir, 'bird.ctl');

function birdConf(t: Transport, o: { localAs?: number; neighborAs?: number; passive?: boolean } = {}): string {
  return `log stderr all;
router id ${BIRD_ID};
protocol device { }
${birdBgpProtocol({ name: 'petrel', local: t.bird, neighbor: t.petrel, channel: t.channel, localAs: o.localAs, neighborAs: o.neighborAs, errorWait: [1, 2], extra: o.passive ? ['passive on;'] : [] })}
`;
}

async function startBird(conf: string): Promise<void> {
  const file = join(dir, 'bird.conf');
  await writeFile(file, conf);
  birdLog = '';
  bird = spawn('ip', ['netns', 'exec', NS_B, 'bird', '-f', '-c', file, '-s', birdSock(), '-P', join(dir, 'bird.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  bird.stderr?.on('data', (d: Buffer) => (birdLog += d.toString()));
  bird.stdout?.on('data', (d: Buffer) => (birdLog += d.toString()));
  await waitFor('bird control socket', () => birdc('show status').then((o) => o.includes('Daemon is up')), 10_000, 50);
}

async function stopBird(): Promise<void> {
  const b = bird;
  bird = undefined;
  if (!b || b.exitCode !== null) return;
  const pid = Number((await readFile(join(dir, 'bird.pid'), 'utf8').catch(() => '0')).trim());
  const exited = new Promise<void>((r) => b.once('exit', () => r()));
  // `ip netns exec` execs bird, so the child's PID is bird's own; the pidfile confirms it.
  b.kill('SIGTERM');
  if (pid && pid !== b.pid) process.kill(pid, 'SIGTERM');
  await exited;
}

const birdc = (cmd: string) => run('birdc', ['-s', birdSock(), ...cmd.split(' ')]);
const birdProto = async () => birdc('show protocols all petrel');

/** A dual-stack node (as Calico's, with both addresses) and one BGPPeer at BIRD's address of family `t`. */
function petrelConf(t: Transport, o: { localAs?: number; peerAs?: number; passive?: boolean } = {}): string {
  return `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: false, asNumber: ${o.localAs ?? 64512}, logSeverityScreen: Info }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: petrel-node }
spec: { bgp: { ipv4Address: ${V4.petrel}/${V4.len}, ipv6Address: '${V6.petrel}/${V6.len}' } }
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: bird }
spec: { peerIP: '${t.bird}', asNumber: ${o.peerAs ?? 64512}${o.passive ? ', passive: true' : ''} }
`;
}

async function startPetrel(conf: string): Promise<PetrelProcess> {
  const file = join(dir, `cluster-${petrels.length}.yaml`);
  await writeFile(file, conf);
  const p = new PetrelProcess(['--node', 'petrel-node', '--sink', 'mock', '--ctl-socket', join(dir, 'petrel.ctl')], { PETREL_DATASTORE: `file:${file}` }, [
    'ip',
    'netns',
    'exec',
    NS_P,
    process.execPath,
    MAIN,
  ]);
  petrels.push(p);
  await p.waitLog('petrel listening', (l) => l.msg === 'listening for BGP');
  return p;
}

const birdEstablished = () =>
  waitFor('BIRD Established', async () => {
    const o = await birdProto();
    return o.includes('Established') ? o : undefined;
  }, 10_000);

describe.each([V4, V6])('interop with BIRD 2 over IPv$family', (t) => {
  it('reaches Established with petrel dialling, and BIRD sees the capabilities petrel advertised', async () => {
    await startBird(birdConf(t, { passive: true }));
    const p = await startPetrel(petrelConf(t));
    await p.waitLog('petrel established', established(t.peer));
    const out = await birdEstablished();
    const neighborCaps = out.split('Neighbor capabilities')[1]?.split('Session:')[0] ?? '';
    const ch = t.channel;
    for (const cap of ['Multiprotocol', `AF announced: ${ch}`, 'Route refresh', 'Graceful restart', 'Restart time: 120', '4-octet AS numbers', 'ADD-PATH', `RX: ${ch}`, `TX: ${ch}`, 'Enhanced refresh', 'Long-lived graceful restart', 'Hostname:']) {
      expect(neighborCaps).toContain(cap);
    }
    expect(out).toContain(`Neighbor ID:      ${PETREL_ID}`);
    expect(out).toContain(`Neighbor address: ${t.petrel}`);
    expect(out).toContain(`Channel ${ch}`);
    // Petrel was the one that dialled: its log shows the outgoing connection reaching Established.
    expect(p.logs.some((l) => l.msg === 'state change' && l.peer === t.peer && l.to === 'Established' && l.conn === 'outgoing')).toBe(true);
  });

  it('reaches Established with BIRD dialling a passive petrel', async () => {
    const p = await startPetrel(petrelConf(t, { passive: true }));
    await startBird(birdConf(t));
    await p.waitLog('petrel established', established(t.peer));
    expect(p.logs.some((l) => l.msg === 'state change' && l.peer === t.peer && l.to === 'Established' && l.conn === 'incoming')).toBe(true);
    const out = await birdEstablished();
    expect(out).toContain(`Neighbor address: ${t.petrel}`);
  });

  it('a wrong AS in petrel\'s config makes BIRD report Bad peer AS', async () => {
    await startBird(birdConf(t, { passive: true }));
    const p = await startPetrel(petrelConf(t, { localAs: 65001 }));
    await waitFor('BIRD reports Bad peer AS', async () => (await birdProto()).includes('Last error:       BGP Error: Bad peer AS'), 15_000);
    const n = await p.waitLog('petrel hears it', (l) => l.msg === 'NOTIFICATION received' && l.peer === t.peer);
    expect([n.code, n.subcode, n.text]).toEqual([2, 2, 'Bad peer AS']);
  });

  it('a wrong AS in BIRD\'s config makes petrel send 2/2 and report it', async () => {
    await startBird(birdConf(t, { localAs: 65002, passive: true }));
    const p = await startPetrel(petrelConf(t));
    const sent = await p.waitLog('petrel sends 2/2', (l) => l.msg === 'NOTIFICATION sent' && l.peer === t.peer);
    expect([sent.code, sent.subcode]).toEqual([2, 2]);
    const refused = await p.waitLog('petrel reports it', (l) => l.msg === 'OPEN refused' && l.peer === t.peer);
    expect(refused.detail).toBe('AS 65002');
    await waitFor('BIRD received it', async () => (await birdProto()).includes('Received: Bad peer AS'), 10_000);
  });

  it('restarting BIRD brings the session back within the connect-retry time', async () => {
    await startBird(birdConf(t, { passive: true }));
    const p = await startPetrel(petrelConf(t));
    await p.waitLog('petrel established', established(t.peer));
    const mark = p.logs.length;
    await stopBird();
    const n = await p.waitLog('Cease from BIRD', (l) => l.msg === 'NOTIFICATION received' && l.peer === t.peer, 10_000, mark);
    expect([n.code, n.subcode]).toEqual([6, 2]);
    await startBird(birdConf(t, { passive: true }));
    const restartedAt = Date.now();
    await p.waitLog('back up', established(t.peer), 10_000, mark);
    expect(Date.now() - restartedAt).toBeLessThan(5000); // connect retry time (Calico: 5 s)
  });

  it('refuses a connection from an unconfigured address while the session stays up', async () => {
    await startBird(birdConf(t, { passive: true }));
    const p = await startPetrel(petrelConf(t));
    await p.waitLog('petrel established', established(t.peer));
    await birdEstablished();
    const before = (await birdc('show protocols petrel')).split('\n').find((l) => l.includes('petrel'));
    // A stranger in BIRD's namespace dials petrel from an address of the same family and prints what it receives.
    const script = `const s=require('net').connect({host:'${t.petrel}',port:179,localAddress:'${t.stranger}'});let b=Buffer.alloc(0);s.on('data',d=>b=Buffer.concat([b,d]));s.on('error',()=>{});s.on('close',()=>{console.log(b.toString('hex'));});`;
    const got = (await nsExec(NS_B, process.execPath, ['-e', script], { timeoutMs: 10_000 })).trim();
    // 16 bytes of marker, then NOTIFICATION Cease / Connection rejected (6/5), then the close.
    expect(got.slice(32)).toBe('0015030605');
    const refusal = await p.waitLog('refusal logged', (l) => l.msg === 'connection from an unconfigured address refused');
    expect(refusal.source).toBe(t.stranger);
    const after = (await birdc('show protocols petrel')).split('\n').find((l) => l.includes('petrel'));
    // Same state and the same since-time: BIRD prints that time from its monotonic clock, converted
    // to wall time on each query, so it may move by a millisecond; a flap would move it by seconds.
    const since = (line: string | undefined): number => {
      const m = /(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line ?? '');
      expect(m, `no since-time in ${line}`).not.toBeNull();
      return ((Number(m![1]) * 60 + Number(m![2])) * 60 + Number(m![3])) * 1000 + Number(m![4]);
    };
    const withoutTime = (line: string | undefined): string => (line ?? '').replace(/\d\d:\d\d:\d\d\.\d{3}/, '<since>');
    expect(withoutTime(after)).toBe(withoutTime(before));
    expect(Math.abs(since(after) - since(before))).toBeLessThanOrEqual(5);
    expect(after).toContain('Established');
    expect(p.logs.filter((l) => l.msg === 'session established')).toHaveLength(1);
  });
});
