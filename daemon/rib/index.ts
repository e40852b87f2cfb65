/**
 * Route distribution: the seam between sessions, the control socket and the kernel.
 *
 * ```ts
 * const engine = new RouteEngine({ intent, sink, log, ipipDevice: 'tunl0', kernelMetric }); // encoder: the codec
 * await engine.setIntent(intent);              // origination diffs + new export/kernel rules
 * await engine.peerUp(peer, { send(msgs) {} }); // Established: full table, then End-of-RIB per family
 * const r = await engine.peerUpdate(peer.name, update); // r.maxPrefixExceeded → send Cease 6/1, then peerDown
 * await engine.peerDown(peer.name);            // its routes leave the Loc-RIB, the kernel and every peer
 * engine.counters(peer.name);                  // RouteCounters, O(1)
 * engine.routeCount();                         // { routes, networks, primary, byFamily, attributeSets }, O(1)
 * for (const r of engine.listRoutes({ prefix, protocol, primaryOnly })) ...  // `show route`
 * await engine.reconcileSink();                // startup: drop stale proto-bird routes (skip to keep them for GR)
 * await engine.settled();                      // every queued change applied, kernel included (tests)
 * ```
 *
 * Wiring (the daemon and the control socket):
 * ```ts
 * const routes = new RouteEngine({ intent, sink: new KernelSink(), log });
 * const daemon = await Daemon.start({ engine: new RibBridge(routes, log), ... });
 * // RibBridge lives in daemon/session/rib-bridge.ts
 * backend.routes = (q) => routeViews(routes, q);  backend counters: routes.counters(name)
 * ```
 *
 * - Calls are queued and run one at a time in call order; each returns a promise of its result.
 *   Sessions may fire and forget, but must call peerUp before peerUpdate (an UPDATE from an
 *   unknown peer is logged and dropped).
 * - `encoder` defaults to the codec (proto/ encodeUpdates/encodeWithdrawals/encodeEndOfRib): the engine hands it one attribute set and a packed prefix
 *   list per call (rib/keys.ts `packKeys` layout), so many NLRI share one UPDATE; withdrawals are
 *   batched the same way. Only the best path is advertised (path id 1 under ADD-PATH).
 * - `sink` is a RouteSink (daemon/sink/kernel.ts or mock.ts); what goes there is decided by
 *   daemon/policy/kernel.ts `toSinkRoute`, shared by both sinks. Sink failures never throw: they
 *   are logged and kept in `engine.sinkFailures` (latest 100) and `engine.sinkFailureTotal`.
 * - Own routes come from daemon/origin.ts: blackholes for own blocks (not /32), host routes for
 *   borrowed addresses (exported, never installed: Felix owns them), service CIDRs.
 */
export { RouteEngine, codecEncoder, type RouteEngineOptions, type SinkFailureRecord } from './engine.js';
export type { EnginePeer, PeerOutput, PeerUpdateResult, RibUpdate, RouteCount, RouteEntry, RouteFilter, UpdateEncoder } from './types.js';
export { routeViews, toRouteView, type RouteViewOptions } from './route-view.js';
export type { RouteAttrs, AsPathSegment, LocalKind } from './attrs.js';
export { AttrStore, attrsKey, localAttrs } from './attrs.js';
export { selectBest, type Candidate, type Decision, type DecisionStep } from './decision.js';
export { cidrToKey, keyToCidr, packKeys, forEachPackedKey, familyOfKey, type PrefixKey } from './keys.js';
