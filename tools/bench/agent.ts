/**
 * The benchmark agent: a process started inside a namespace (`ip netns exec <ns> node agent.js '<json>'`)
 * that runs BGP peers for the harness and reports timestamped events as JSON lines on stdout.
 *
 * Order: listeners and receivers come up first ('ready' once every receiver is Established), then
 * injectors connect and write their tables. The agent keeps its sessions up until stdin closes,
 * so the speaker never flushes the routes mid-measurement.
 */
import { monoMs } from './clock.js';
import { injectTable, listenNull, receiveTable } from './injector.js';
import type { TableSpec } from './table.js';

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

function emit(e: AgentEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
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

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as AgentSpec;
  const timer = setTimeout(() => {
    emit({ ev: 'error', message: `agent timed out after ${spec.timeoutMs} ms` });
    process.exit(2);
  }, spec.timeoutMs);
  timer.unref();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  for (const s of spec.peers) if (s.role === 'listen') await listenNull(s, emit);
  await Promise.all(spec.peers.filter((s): s is ReceiveSpec => s.role === 'receive').map((s) => receiveTable(s, emit)));
  emit({ ev: 'ready', t: monoMs() });
  await Promise.all(spec.peers.filter((s): s is InjectSpec => s.role === 'inject').map((s) => injectTable(s, emit)));
}

main().catch((e: Error) => {
  emit({ ev: 'error', message: e.message });
  process.exit(1);
});
