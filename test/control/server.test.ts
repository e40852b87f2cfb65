/**
 * ControlServer behaviour over a real unix socket: the real birdc/birdcl (Debian bird2) as
 * client, pipelining, a client that stops reading, socket-file takeover rules, limits.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BirdClient } from '../../daemon/control/client.js';
import { ControlServer, ControlSocketError, startControlServer } from '../../daemon/control/index.js';
import type { RouteView } from '../../daemon/control/backend.js';
import { waitFor } from '../../tools/lab/netns.js';
import { at, bastionState, FakeBackend, nodeState } from './fake-backend.js';

const run = promisify(execFile);
const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/bird2-ctl');

let dir: string;
const servers: ControlServer[] = [];
let seq = 0;
const sockPath = () => path.join(dir, `s${++seq}.ctl`);

async function serve(backend = new FakeBackend(nodeState()), extra: Partial<Parameters<typeof startControlServer>[0]> = {}) {
  const s = await startControlServer({ path: sockPath(), backend, dialect: 'bird2', now: () => at('01:47:05.410'), ...extra });
  servers.push(s);
  return s;
}

beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'pt-ctl-server-')); });
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** Reads from a raw socket until `n` final reply lines arrived; returns everything read. */
function readFinals(sock: net.Socket, n: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(buf.slice(-300))}`)), timeoutMs);
    const count = () => buf.split('\n').filter((l) => /^\d{4} /.test(l)).length;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      if (count() >= n) { clearTimeout(t); resolve(buf); }
    });
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

describe('the real birdc/birdcl against Petrel', () => {
  it('show protocols, show route, show status print as they do against BIRD (birdcl fixtures)', async () => {
    const s = await serve();
    for (const [cmd, file] of [['show protocols', 'node.show-protocols.stdout.txt'], ['show route', 'node.show-route.stdout.txt'], ['show status', 'node.show-status.stdout.txt']] as const) {
      const { stdout } = await run('birdcl', ['-s', s.path, ...cmd.split(' ')]);
      expect(stdout).toBe(readFileSync(path.join(FIXTURES, 'birdcl', file), 'latin1'));
    }
  });

  it('birdc -v keeps the codes like against BIRD', async () => {
    const s = await serve();
    const { stdout } = await run('birdc', ['-v', '-s', s.path, 'show', 'protocols']);
    expect(stdout).toBe(readFileSync(path.join(FIXTURES, 'birdcl', 'node.show-protocols.birdc-v.stdout.txt'), 'latin1'));
  });

  it('birdc expands abbreviations client-side: `sh pro all Global_10_0_1_11`', async () => {
    const s = await serve();
    const { stdout } = await run('birdc', ['-s', s.path, 'sh', 'pro', 'all', 'Global_10_0_1_11']);
    expect(stdout).toContain('Global_10_0_1_11 BGP        ---        up     01:44:55.017  Established');
    expect(stdout).toContain('    Neighbor address: 10.0.1.11\n');
    expect(stdout).toContain('    Hold timer:       203.226/240\n');
  });

  it('birdc reading commands from stdin runs several commands and admin commands', async () => {
    const backend = new FakeBackend(nodeState());
    const s = await serve(backend);
    const child = spawn('birdc', ['-s', s.path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stdin.end('show status\nshow memory\nshow interfaces\ndisable Global_10_0_1_11\nshow protocols\nconfigure check\nrestart all\n');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(out).toContain('Router ID is 10.0.1.12');
    expect(out).toContain('BIRD memory usage');
    expect(out).toContain('Global_10_0_1_11: disabled');
    expect(out).toMatch(/Global_10_0_1_11 BGP +--- +down +01:44:55\.017 {2}\n/);
    expect(out).toContain('Reading configuration from petrel.yaml\nConfiguration OK');
    expect(out).toContain('Global_10_0_1_11: already disabled');
    // `restart all` restarts every protocol except the disabled one, as BIRD does.
    expect(backend.calls).toEqual(['disable Global_10_0_1_11', 'configure check', 'restart static1', 'restart kernel1', 'restart device1', 'restart direct1']);
  });

  it('birdc against the bird1 dialect prints Calico 1.6-style tables', async () => {
    const s = await serve(new FakeBackend(nodeState()), { dialect: 'bird1' });
    const { stdout } = await run('birdcl', ['-s', s.path, 'show', 'protocols']);
    expect(stdout).toBe([
      'BIRD v0.3.3+birdv1.6.8 ready.',
      'name     proto    table    state  since       info',
      'static1  Static   master   up     01:44:53    ',
      'kernel1  Kernel   master   up     01:44:53    ',
      'device1  Device   master   up     01:44:53    ',
      'direct1  Direct   master   up     01:44:53    ',
      'Global_10_0_1_11 BGP      master   up     01:44:55    Established   ',
      '',
    ].join('\n'));
  });
});

describe('protocol behaviour', () => {
  it('answers commands pipelined before the greeting was read, in order', async () => {
    const s = await serve();
    const sock = net.connect(s.path);
    sock.write('show status\nshow protocols "Global*"\nfrobnicate\nshow route count\n');
    const text = await readFinals(sock, 5);
    sock.destroy();
    const finals = text.split('\n').filter((l) => /^\d{4} /.test(l));
    expect(finals).toEqual(['0001 BIRD 2.0.12 ready.', '0013 Daemon is up and running', '0000 ', '9001 syntax error, unexpected CF_SYM_UNDEFINED', '0014 Total: 2 of 2 routes for 2 networks in 2 tables']);
    expect(text).toContain('1002-Global_10_0_1_11 BGP');
  });

  it('accepts CR LF line ends and commands split across writes', async () => {
    const s = await serve();
    const c = await BirdClient.connect(s.path);
    c.write('show st');
    c.write('atus\r\n');
    const r = await c.readReply();
    expect(r.lines.at(-1)?.raw).toBe('0013 Daemon is up and running');
    c.close();
  });

  it('answers an over-long line with 9000 Command too long and stays usable', async () => {
    const s = await serve();
    const c = await BirdClient.connect(s.path);
    expect((await c.command('show protocols ' + 'x'.repeat(5000))).raw).toBe('9000 Command too long\n');
    expect((await c.command('show status')).lines.at(-1)?.code).toBe(13);
    c.close();
  });

  it('a backend failure mid-reply ends that reply with an 8000 line; the connection keeps working', async () => {
    const backend = new FakeBackend(nodeState());
    backend.failRoutes = true;
    const s = await serve(backend);
    const c = await BirdClient.connect(s.path);
    expect((await c.command('show route')).raw).toBe('8000 Internal error: RIB unavailable\n');
    backend.failRoutes = false;
    expect((await c.command('show route')).lines.at(-1)?.raw).toBe('0000 ');
    c.close();
  });

  it('a client that stops reading a huge reply blocks neither the server nor other clients', async () => {
    const total = 50_000;
    let pulled = 0;
    const state = nodeState();
    const backend = new FakeBackend(state);
    backend.routes = function* (q) {
      if (q.table === 'master6') return;
      for (let i = 0; i < total; i++) {
        pulled++;
        yield {
          prefix: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`, dest: 'unicast', nextHops: [{ gateway: '10.0.1.11', dev: 'eth0' }],
          protocol: 'Global_10_0_1_11', since: at('01:44:55.337'), primary: true, preference: 100, source: 'BGP',
          bgp: { origin: 'IGP', asPath: [], nextHop: '10.0.1.11', localPref: 100 },
        } satisfies RouteView;
      }
    };
    const s = await serve(backend, { highWaterMark: 16 * 1024 });
    const slow = net.connect(s.path);
    slow.write('show route\n');
    slow.pause(); // never reads
    await waitFor('the server to start streaming', () => pulled > 0, 10_000, 20);

    const t0 = Date.now();
    const fast = await BirdClient.connect(s.path);
    const reply = await fast.command('show status');
    expect(reply.lines.at(-1)?.code).toBe(13);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(pulled).toBeLessThan(total); // generation waits for the slow client
    fast.close();

    // Once the slow client reads, it gets the complete reply.
    const text = await new Promise<string>((resolve, reject) => {
      let buf = '';
      slow.setEncoding('latin1');
      slow.on('data', (d: string) => { buf += d; if (buf.endsWith('\n0000 \n')) resolve(buf); });
      slow.on('error', reject);
      slow.resume();
    });
    slow.destroy();
    expect(pulled).toBe(total);
    expect(text.split('\n').length).toBe(1 + 1 + total * 2 + 2);
  });

  it('refuses connections beyond maxClients with a message', async () => {
    const s = await serve(new FakeBackend(nodeState()), { maxClients: 2 });
    const a = await BirdClient.connect(s.path);
    const b = await BirdClient.connect(s.path);
    const third = net.connect(s.path);
    const text = await readFinals(third, 1);
    expect(text).toBe('8000 Too many control connections\n');
    a.close();
    b.close();
    third.destroy();
  });
});

describe('socket file lifecycle', () => {
  it('creates the socket with mode 0660 and the configured group', async () => {
    const s = await serve(new FakeBackend(nodeState()), { group: 1 });
    const st = statSync(s.path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(1);
  });

  it('replaces a stale socket file left by a crashed daemon', async () => {
    const p = sockPath();
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('ready'))", p], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(statSync(p).isSocket()).toBe(true); // the crash left the file behind

    const s = await startControlServer({ path: p, backend: new FakeBackend(nodeState()), dialect: 'bird2' });
    servers.push(s);
    const c = await BirdClient.connect(p);
    expect(c.greeting.raw).toBe('0001 BIRD 2.0.12 ready.');
    c.close();
  });

  it('never steals a live socket: a second server on the same path is refused, the first keeps serving', async () => {
    const first = await serve();
    const err = await startControlServer({ path: first.path, backend: new FakeBackend(bastionState()) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlSocketError);
    expect((err as ControlSocketError).kind).toBe('in-use');
    expect((err as Error).message).toBe(`another daemon is listening on ${first.path}`);
    const c = await BirdClient.connect(first.path);
    expect((await c.command('show status')).raw).toContain('Router ID is 10.0.1.12');
    c.close();
  });

  it('refuses to replace a path that is not a socket', async () => {
    const p = sockPath();
    writeFileSync(p, 'precious');
    const err = await startControlServer({ path: p, backend: new FakeBackend(nodeState()) }).catch((e: unknown) => e);
    expect((err as ControlSocketError).kind).toBe('not-a-socket');
    expect(readFileSync(p, 'utf8')).toBe('precious');
  });

  it('removes its socket file on close', async () => {
    const s = await serve();
    await s.close();
    expect(existsSync(s.path)).toBe(false);
  });
});
