/**
 * The benchmark agent: a process started inside a namespace (`ip netns exec <ns> node agent.js '<json>'`)
 * that runs BGP peers for the harness and reports timestamped events as JSON lines on stdout.
 *
 * Order: listeners and receivers come up first ('ready' once every receiver is Established), then
 * injectors connect and write their tables. The agent keeps its sessions up until stdin closes,
 * so the speaker never flushes the routes mid-measurement.
 */
import { createServer, type Server } from 'node:net';
import { BenchPeer } from './peer.js';
import { ipv4EndOfRib } from './wire.js';
import { encodeTable, type TableSpec } from './table.js';
import { monoMs } from './clock.js';
import { parseIpv4 } from '../../proto/prefix.js';

export interface PeerSpecBase {
  readonly id: string;
  readonly asn: number;
  readonly routerId: string;
  readonly holdTime?: number;
}

/** Dials `host` and sends a table after Established, then End-of-RIB. */
export interface InjectSpec extends PeerSpecBase {
  readonly role: 'inject';
  readonly host: string;
  readonly port?: number;
  readonly localAddress?: string;
  readonly table: Omit<TableSpec, 'nextHop'> & { readonly nextHop: string };
}

/** Dials `host` and counts what it announces; reports when the count reaches `expect`. */
export interface ReceiveSpec extends PeerSpecBase {
  readonly role: 'receive';
  readonly host: string;
  readonly port?: number;
  readonly localAddress?: string;
  readonly expect: number;
}

/** Accepts one session on address:port and counts (the null receiver). */
export interface ListenSpec extends PeerSpecBase {
  readonly role: 'listen';
  readonly address: string;
  readonly port: number;
  readonly expect: number;
}

export type AgentPeerSpec = InjectSpec | ReceiveSpec | ListenSpec;

export interface AgentSpec {
  readonly peers: readonly AgentPeerSpec[];
  /** Upper bound for the whole agent (ms); it exits with an error event after that. */
  readonly timeoutMs: number;
}

export type AgentEvent =
  | { ev: 'encoded'; id: string; bytes: number; updates: number; attrSets: number; ms: number }
  | { ev: 'listening'; id: string }
  | { ev: 'established'; id: string; t: number }
  | { ev: 'ready'; t: number }
  | { ev: 'written'; id: string; t: number }
  | { ev: 'reached'; id: string; t: number; count: number; established: number }
  | { ev: 'error'; id?: string; message: string };

function emit(e: AgentEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

async function runReceiver(s: ReceiveSpec): Promise<void> {
  const peer = new BenchPeer({ host: s.host, port: s.port ?? 179, ...(s.localAddress ? { localAddress: s.localAddress } : {}), asn: s.asn, routerId: parseIpv4(s.routerId), holdTime: s.holdTime ?? 240, connectTimeoutMs: 60_000 });
  const t = await peer.start();
  emit({ ev: 'established', id: s.id, t });
  void peer.waitForCount(s.expect, 1e9).then(
    (at) => emit({ ev: 'reached', id: s.id, t: at, count: peer.counter.count, established: t }),
    (e: Error) => emit({ ev: 'error', id: s.id, message: e.message }),
  );
}

function runListener(s: ListenSpec): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      const peer = new BenchPeer({ host: '', asn: s.asn, routerId: parseIpv4(s.routerId), holdTime: s.holdTime ?? 240 });
      peer.accept(sock).then(
        (t) => {
          emit({ ev: 'established', id: s.id, t });
          return peer.waitForCount(s.expect, 1e9).then((at) => emit({ ev: 'reached', id: s.id, t: at, count: peer.counter.count, established: t }));
        },
      ).catch((e: Error) => emit({ ev: 'error', id: s.id, message: e.message }));
    });
    server.once('error', reject);
    server.listen(s.port, s.address, () => {
      emit({ ev: 'listening', id: s.id });
      resolve(server);
    });
  });
}

async function runInjector(s: InjectSpec): Promise<void> {
  const t0 = monoMs();
  const table = encodeTable({ ...s.table, nextHop: parseIpv4(s.table.nextHop) });
  emit({ ev: 'encoded', id: s.id, bytes: table.bytes, updates: table.updates, attrSets: table.attrSets, ms: monoMs() - t0 });
  const peer = new BenchPeer({ host: s.host, port: s.port ?? 179, ...(s.localAddress ? { localAddress: s.localAddress } : {}), asn: s.asn, routerId: parseIpv4(s.routerId), holdTime: s.holdTime ?? 240, connectTimeoutMs: 60_000 });
  const t = await peer.start();
  emit({ ev: 'established', id: s.id, t });
  await peer.write([...table.chunks, ipv4EndOfRib()]);
  emit({ ev: 'written', id: s.id, t: monoMs() });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as AgentSpec;
  const timer = setTimeout(() => {
    emit({ ev: 'error', message: `agent timed out after ${spec.timeoutMs} ms` });
    process.exit(2);
  }, spec.timeoutMs);
  timer.unref();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  for (const s of spec.peers) if (s.role === 'listen') await runListener(s);
  await Promise.all(spec.peers.filter((s): s is ReceiveSpec => s.role === 'receive').map(runReceiver));
  emit({ ev: 'ready', t: monoMs() });
  await Promise.all(spec.peers.filter((s): s is InjectSpec => s.role === 'inject').map(runInjector));
}

main().catch((e: Error) => {
  emit({ ev: 'error', message: e.message });
  process.exit(1);
});
