/**
 * Petrel's BIRD-compatible control socket.
 *
 *   const server = await startControlServer({ path: '/var/run/calico/bird.ctl', backend });
 *   ...
 *   await server.close();
 *
 * or, for what calicoctl and calico-node expect of a Calico node (bird.ctl for IPv4 and
 * bird6.ctl for IPv6, both in the BIRD 1.6 layout):
 *
 *   const sockets = await startCalicoControlSockets({ path: '/var/run/calico/bird.ctl', backend });
 *   await sockets.close();
 *
 * - `backend` (ControlBackend, backend.ts) is how the server reads the daemon: BGP protocols
 *   (PeerStatus plus optional timers/channels), system protocols, routes (RouteView, pulled lazily),
 *   status, memory, interfaces, and the admin actions (configure, disable, enable, restart, down).
 * - `dialect`: 'bird1' (default) answers in the layout of Calico's BIRD 1.6 fork, which calicoctl
 *   and calico-node parse; 'bird2' is byte-identical to BIRD 2.0.12 (shared/fixtures/bird2-ctl).
 *   Run one server per socket: bird.ctl (bird1, IPv4), bird6.ctl (bird1, families [6]), or a
 *   single bird2 socket for both families.
 * - Start fails with ControlSocketError: kind 'in-use' ("another daemon is listening on <path>")
 *   when a live server answers on the path, 'not-a-socket' when the path is some other file; a
 *   stale socket left by a crash is replaced.
 * - Replies are generated lazily with a per-client output bound, so `show route` over a million
 *   routes streams at the client's pace and a client that stops reading blocks nobody else.
 * - Request errors answer as BIRD does (9001 syntax errors, 8003 No protocols match, 8001 ...);
 *   a backend exception answers `8000 Internal error: <message>` and the connection stays usable.
 */
import path from 'node:path';
import { ControlServer, type ControlServerOptions } from './server.js';

export { ControlServer, ControlSocketError, probeSocket, type ControlServerOptions, type ControlSocketErrorKind } from './server.js';
export type * from './backend.js';
export { LineFramer, LineReader, FramingError, type Dialect, type ParsedLine, type ReplyLine } from './framing.js';
export { execute, protocolEntries, patternMatches, type CommandContext, type SessionState } from './commands.js';
export { parseCommand, CommandError, type Command } from './parser.js';
export { bgpInfo } from './format-protocols.js';

/** Creates the control socket and starts serving; see ControlServerOptions. */
export function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  return ControlServer.start(opts);
}

export interface CalicoSocketsOptions extends Omit<ControlServerOptions, 'families' | 'dialect'> {
  /** IPv6 socket; default bird6.ctl beside `path`; false for none. */
  readonly path6?: string | false;
}

export interface CalicoSockets {
  readonly v4: ControlServer;
  readonly v6?: ControlServer;
  close(): Promise<void>;
}

/** bird.ctl (IPv4) and bird6.ctl (IPv6) in the bird1 dialect, as Calico's two BIRD daemons serve them. */
export async function startCalicoControlSockets(opts: CalicoSocketsOptions): Promise<CalicoSockets> {
  const v4Path = opts.path ?? '/var/run/calico/bird.ctl';
  const v4 = await ControlServer.start({ ...opts, path: v4Path, dialect: 'bird1', families: [4] });
  if (opts.path6 === false) return { v4, close: () => v4.close() };
  const v6Path = opts.path6 ?? path.join(path.dirname(v4Path), 'bird6.ctl');
  try {
    const v6 = await ControlServer.start({ ...opts, path: v6Path, dialect: 'bird1', families: [6] });
    return { v4, v6, close: async () => { await Promise.all([v4.close(), v6.close()]); } };
  } catch (err) {
    await v4.close();
    throw err;
  }
}
