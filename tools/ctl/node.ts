/**
 * petrelctl node status: calicoctl's `node status`, byte for byte.
 *
 * It learns everything from the control sockets, exactly as calicoctl does: it sends
 * `show protocols` and parses the reply with calicoctl's rules (header check, 1002/continuation
 * rows, `(Global|Node|Mesh)_<ip>` BGP rows), so it works against Petrel and against a real BIRD.
 * Differences from calicoctl, both because Petrel has no calico-felix or bird processes:
 *  - a Petrel daemon counts as the Calico process when one of its control sockets answers;
 *  - BIRD for a family counts as running when that family's socket answers (calicoctl looks
 *    for processes named bird / bird6).
 * `-o json` prints the same facts as one JSON object for scripts; exit codes do not change.
 */
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { renderBoxTable } from './table.js';

/** calicoctl's per-line read deadline. */
const BIRD_TIMEOUT_MS = 2000;
const DEFAULT_SOCKET = '/var/run/calico/bird.ctl';
/** calicoctl's fallback location for each family's socket. */
const FALLBACK_DIR = '/var/run/bird';

const PEER_NAME = /^(Global|Node|Mesh)_(.+)$/;
const PEER_TYPES: Record<string, string> = { Global: 'global', Node: 'node specific', Mesh: 'node-to-node mesh' };
const BIRD_HEADERS = ['name', 'proto', 'table', 'state', 'since', 'info'];

export interface BgpPeerRow {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly bgpState: string;
  readonly info: string;
}

/** calicoctl's unmarshalBIRD: a protocol row, or undefined when it is not a Calico BGP peer. */
export function parseBirdRow(text: string, family: 4 | 6): BgpPeerRow | undefined {
  const cols = text.split(/\s+/).filter((c) => c.length > 0);
  if (cols.length < 6 || cols[1] !== 'BGP') return undefined;
  const m = PEER_NAME.exec(cols[0]!);
  if (!m) return undefined;
  return {
    // A multiprotocol session over IPv4 also carries IPv6 (Petrel's addressFamilies): its IPv4 name
    // shows in the IPv6 table too, and four plain numbers can only be an IPv4 address.
    peerAddress: m[2]!.replaceAll('_', family === 4 || /^\d+_\d+_\d+_\d+(_port_\d+)?$/.test(m[2]!) ? '.' : ':'),
    peerType: PEER_TYPES[m[1]!]!,
    state: cols[3]!,
    since: cols[4]!,
    bgpState: cols[5]!,
    info: cols.slice(6).join(' '),
  };
}

export class BirdQueryError extends Error {
  /** dial: calicoctl reports it inline and carries on; others end the command (exit 1). */
  constructor(readonly stage: 'dial' | 'write' | 'read', message: string) {
    super(message);
    this.name = 'BirdQueryError';
  }
}

/** Linux strerror texts as Go prints them (lower case). */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ECONNREFUSED: 'connection refused',
  EACCES: 'permission denied',
  ENOTSOCK: 'socket operation on non-socket',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'broken pipe',
};
function goErrno(err: NodeJS.ErrnoException): string {
  return (err.code && ERRNO_TEXT[err.code]) ?? err.message;
}

function dial(p: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p);
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', (err: NodeJS.ErrnoException) => reject(new BirdQueryError('dial', `dial unix ${p}: connect: ${goErrno(err)}`)));
  });
}

/** Dials the first socket that answers, calicoctl's way (its error names the last path tried). */
async function dialAny(paths: readonly string[]): Promise<{ socket: net.Socket; path: string }> {
  let last: unknown;
  for (const p of paths) {
    try {
      return { socket: await dial(p), path: p };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** Sends `show protocols` and parses the reply with calicoctl's scanBIRDPeers rules. */
export async function queryBirdPeers(paths: readonly string[], family: 4 | 6, timeoutMs = BIRD_TIMEOUT_MS): Promise<BgpPeerRow[]> {
  let conn: { socket: net.Socket; path: string };
  try {
    conn = await dialAny(paths);
  } catch (err) {
    const msg = err instanceof BirdQueryError ? err.message : String(err);
    throw new BirdQueryError('dial', `unable to connect to BIRDv${family} socket: ${msg}`);
  }
  const { socket } = conn;
  return new Promise<BgpPeerRow[]>((resolve, reject) => {
    const peers: BgpPeerRow[] = [];
    let buffer = '';
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(peers);
    };
    let timer = setTimeout(() => finish(new BirdQueryError('read', `read unix @->${conn.path}: i/o timeout`)), timeoutMs);
    const handle = (raw: string): boolean => {
      const str = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (str.startsWith('0000')) return true;
      if (str.startsWith('0001')) {
        // greeting
      } else if (str.startsWith('2002')) {
        const f = str.slice(5).split(/\s+/).filter((c) => c.length > 0);
        if (f.join(' ') !== BIRD_HEADERS.join(' ')) throw new BirdQueryError('read', 'unknown BIRD table output format');
      } else if (str.startsWith('1002')) {
        const row = parseBirdRow(str.slice(5), family);
        if (row) peers.push(row);
      } else if (str.startsWith(' ')) {
        const row = parseBirdRow(str.slice(1), family);
        if (row) peers.push(row);
      } else {
        throw new BirdQueryError('read', 'unexpected output line from BIRD');
      }
      clearTimeout(timer);
      timer = setTimeout(() => finish(new BirdQueryError('read', `read unix @->${conn.path}: i/o timeout`)), timeoutMs);
      return false;
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      try {
        while (!finished && (nl = buffer.indexOf('\n')) >= 0) {
          const l = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (handle(l)) return finish();
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    // A reply cut short ends the scan without error, as Go's bufio.Scanner does at EOF.
    socket.on('end', () => finish());
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new BirdQueryError('read', `read unix @->${conn.path}: ${goErrno(err)}`)));
    socket.write('show protocols\n', (err) => {
      if (err) finish(new BirdQueryError('write', `unable to write to BIRD socket: ${goErrno(err)}`));
    });
  });
}

/** True when something answers on one of the paths. */
async function answers(paths: readonly string[]): Promise<boolean> {
  try {
    const { socket } = await dialAny(paths);
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

/** Process names (comm) and argv of every process, for calicoctl's felix check. */
async function listProcesses(): Promise<{ comm: string; argv: string[] }[]> {
  const out: { comm: string; argv: string[] }[] = [];
  for (const pid of (await readdir('/proc').catch(() => [])).filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a.length > 0);
      out.push({ comm, argv });
    } catch {
      // the process exited meanwhile
    }
  }
  return out;
}

function calicoProcessRunning(procs: readonly { comm: string; argv: string[] }[]): boolean {
  const named = (p: { comm: string; argv: string[] }, n: string) => p.comm === n || (p.argv[0] !== undefined && path.basename(p.argv[0]) === n);
  return procs.some((p) => named(p, 'calico-felix') || named(p, 'calico-node') || p.argv.includes('-felix'));
}

export interface NodeStatusDeps {
  readonly euid: number;
  /** Socket paths tried in order, per family. */
  readonly sockets: { readonly 4: readonly string[]; readonly 6: readonly string[] };
  /** calico-felix / calico-node present (calicoctl's own check); default: scans /proc. */
  readonly calicoProcess?: () => Promise<boolean>;
  readonly timeoutMs?: number;
}

export interface NodeStatusResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  /** The facts, for -o json. */
  readonly json: Record<string, unknown>;
}

interface FamilyReport { running: boolean; peers?: BgpPeerRow[]; error?: string }

/** Runs `node status` and returns what calicoctl would print (and the JSON form). */
export async function nodeStatus(deps: NodeStatusDeps): Promise<NodeStatusResult> {
  if (deps.euid !== 0) {
    return { stdout: 'Need super user privileges: Operation not permitted\n', stderr: '', exitCode: 1, json: { error: 'Need super user privileges: Operation not permitted' } };
  }
  const [v4, v6] = await Promise.all([answers(deps.sockets[4]), answers(deps.sockets[6])]);
  const calico = v4 || v6 || (await (deps.calicoProcess ?? (async () => calicoProcessRunning(await listProcesses())))());
  if (!calico) {
    return { stdout: '', stderr: 'Calico process is not running.\n', exitCode: 1, json: { calicoProcess: 'not running', error: 'Calico process is not running.' } };
  }
  let out = 'Calico process is running.\n';
  const reports: Record<'ipv4' | 'ipv6', FamilyReport> = { ipv4: { running: v4 }, ipv6: { running: v6 } };
  if (v4 || v6) {
    for (const family of [4, 6] as const) {
      const report = reports[family === 4 ? 'ipv4' : 'ipv6'];
      if (!report.running) {
        out += family === 4 ? "\nINFO: BIRDv4 process: 'bird' is not running.\n" : "\nINFO: BIRDv6 process: 'bird6' is not running.\n";
        continue;
      }
      out += `\nIPv${family} BGP status\n`;
      try {
        const peers = await queryBirdPeers(deps.sockets[family], family, deps.timeoutMs);
        report.peers = peers;
        out += peers.length === 0 ? `No IPv${family} peers found.\n` : peerTable(peers);
      } catch (err) {
        if (err instanceof BirdQueryError && err.stage === 'dial') {
          // calicoctl prints this without a newline and goes on.
          report.error = err.message;
          out += `Error querying BIRD: ${err.message}`;
          continue;
        }
        const message = `error executing command: ${err instanceof Error ? err.message : String(err)}`;
        return { stdout: out, stderr: `${message}\n`, exitCode: 1, json: { calicoProcess: 'running', ...reports, error: message } };
      }
    }
  } else {
    out += '\nThe BGP backend process (BIRD) is not running.\n';
  }
  out += '\n';
  return { stdout: out, stderr: '', exitCode: 0, json: { calicoProcess: 'running', ...reports } };
}

/** calicoctl's table: the info column is the BGP state plus the error text. */
export function peerTable(peers: readonly BgpPeerRow[]): string {
  return renderBoxTable(
    ['Peer address', 'Peer type', 'State', 'Since', 'Info'],
    peers.map((p) => [p.peerAddress, p.peerType, p.state, p.since, p.info ? `${p.bgpState} ${p.info}` : p.bgpState]),
  );
}

/** The IPv6 socket the daemon creates beside its IPv4 one (as Calico: bird6.ctl in the same directory). */
export function ipv6SocketFor(socket: string): string {
  return path.join(path.dirname(socket), 'bird6.ctl');
}

/** Socket paths to try per family: the configured one, and calicoctl's fallback for the default. */
export function socketCandidates(ctlSocket: string, ctlSocket6?: string): { 4: string[]; 6: string[] } {
  const v6 = ctlSocket6 ?? ipv6SocketFor(ctlSocket);
  const isDefault = ctlSocket === DEFAULT_SOCKET;
  return {
    4: isDefault ? [ctlSocket, path.join(FALLBACK_DIR, 'bird.ctl')] : [ctlSocket],
    6: isDefault && ctlSocket6 === undefined ? [v6, path.join(FALLBACK_DIR, 'bird6.ctl')] : [v6],
  };
}

/** Registers `petrelctl node status`. */
export function register(program: Command): void {
  const node = program.command('node').description('Inspect the Petrel daemon on this node');
  node
    .command('status')
    .description("BGP status of this node, as calicoctl node status prints it (reads the daemon's control sockets)")
    .option('--ctl-socket6 <path>', 'IPv6 control socket (default: bird6.ctl beside --ctl-socket)')
    .option('-o, --output <format>', "output format: 'table' (calicoctl's) or 'json'", 'table')
    .action(async (opts: { ctlSocket6?: string; output: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ ctlSocket?: string }>();
      if (opts.output !== 'table' && opts.output !== 'json') {
        process.stderr.write(`unknown output format '${opts.output}' (table, json)\n`);
        process.exitCode = 1;
        return;
      }
      const result = await nodeStatus({
        euid: process.geteuid?.() ?? 0,
        sockets: socketCandidates(globals.ctlSocket ?? DEFAULT_SOCKET, opts.ctlSocket6),
      });
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify(result.json, null, 2) + '\n');
      } else {
        process.stdout.write(result.stdout);
        process.stderr.write(result.stderr);
      }
      process.exitCode = result.exitCode;
    });
}
