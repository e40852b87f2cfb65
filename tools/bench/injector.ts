/**
 * The benchmark injector and receivers, on Petrel's codec: what the agent process runs inside a
 * namespace (agent.ts), usable on its own from another script. Each reports through `emit`.
 */
import { createServer, type Server } from 'node:net';
import { BenchPeer } from './peer.js';
import { ipv4EndOfRib } from './wire.js';
import { encodeTable } from './table.js';
import { monoMs } from './clock.js';
import { parseIpv4 } from '../../proto/prefix.js';
import type { AgentEvent, InjectSpec, ListenSpec, ReceiveSpec } from './agent.js';

export type Emit = (e: AgentEvent) => void;

/** Dials the speaker and counts what it announces; emits 'established', then 'reached' at `expect`. */
export async function receiveTable(s: ReceiveSpec, emit: Emit): Promise<BenchPeer> {
  const peer = new BenchPeer({ host: s.host, port: s.port ?? 179, ...(s.localAddress ? { localAddress: s.localAddress } : {}), asn: s.asn, routerId: parseIpv4(s.routerId), holdTime: s.holdTime ?? 240, connectTimeoutMs: 60_000 });
  const t = await peer.start();
  emit({ ev: 'established', id: s.id, t });
  void peer.waitForCount(s.expect, 1e9).then(
    (at) => emit({ ev: 'reached', id: s.id, t: at, count: peer.counter.count, established: t }),
    (e: Error) => emit({ ev: 'error', id: s.id, message: e.message }),
  );
  return peer;
}

/** The null receiver: accepts sessions on address:port and counts; emits 'listening', 'established', 'reached'. */
export function listenNull(s: ListenSpec, emit: Emit): Promise<Server> {
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

/**
 * The injector: encodes the table with Petrel's codec before dialling, then after Established writes
 * every UPDATE and End-of-RIB; emits 'encoded', 'established', 'written'. The session stays up.
 */
export async function injectTable(s: InjectSpec, emit: Emit): Promise<BenchPeer> {
  const t0 = monoMs();
  const table = encodeTable({ ...s.table, nextHop: parseIpv4(s.table.nextHop) });
  emit({ ev: 'encoded', id: s.id, bytes: table.bytes, updates: table.updates, attrSets: table.attrSets, ms: monoMs() - t0 });
  const peer = new BenchPeer({ host: s.host, port: s.port ?? 179, ...(s.localAddress ? { localAddress: s.localAddress } : {}), asn: s.asn, routerId: parseIpv4(s.routerId), holdTime: s.holdTime ?? 240, connectTimeoutMs: 60_000 });
  const t = await peer.start();
  emit({ ev: 'established', id: s.id, t });
  await peer.write([...table.chunks, ipv4EndOfRib()]);
  emit({ ev: 'written', id: s.id, t: monoMs() });
  return peer;
}

