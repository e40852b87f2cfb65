#!/usr/bin/env node
/**
 * `petrel`: the daemon's command line. `petrel --node <name>` runs the BGP speaker for that node,
 * its configuration coming from the datastore named by PETREL_DATASTORE (file:<path> by default,
 * or etcd:http://host:2379). SIGTERM/SIGINT send Cease 6/2 to every peer and exit 0; SIGHUP
 * re-reads the configuration.
 *
 * Graceful restart (RFC 4724, daemon/gr): on by default, as Calico runs `bird -R`. At start, proto
 * bird routes a previous run left in the kernel are kept while peers re-send theirs, and only what
 * nobody re-announced is removed after every peer's End-of-RIB (or the restart time). SIGUSR2 (and
 * SIGTERM with --restart-on-sigterm) stops for a restart: sessions close without a NOTIFICATION,
 * so GR peers keep our routes and the kernel keeps theirs. A crash (kill -9) is the same restart.
 */
import { realpathSync } from 'node:fs';
import { readFile } from '../config/fs-async.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { computeNodeIntent, openDatastore, resolveDatastoreUrl } from '../config/index.js';
import { DaemonControlBackend } from './control-backend.js';
import { startControlServer } from './control/index.js';
import { Daemon, type IntentSource } from './daemon.js';
import { parseListenList, type ListenAddress } from './listener.js';
import { createLogger, type Logger } from './log.js';
import { CALICO_DEFAULTS, type NodeIntent, type RouteSink, type SinkRoute } from './model.js';
import { RouteEngine as RibEngine } from './rib/index.js';
import { RibBridge } from './session/rib-bridge.js';
import { GracefulRestartEngine } from './gr/index.js';
import { KernelSink, MockSink } from './sink/index.js';
import { findDeviceHolding } from './sink/address-device.js';

export interface PetrelOptions {
  node?: string;
  datastore?: string;
  ctlSocket: string;
  ctlSocket6?: string;
  sink: 'kernel' | 'mock' | 'none';
  /** One value, or several when --listen is repeated. */
  listen?: string | string[];
  logLevel?: string;
  intentFile?: string;
  gracefulRestart: boolean;
  restartOnSigterm?: boolean;
  ipipDevice: string;
}

export function buildProgram(run: (o: PetrelOptions) => Promise<void>): Command {
  return new Command('petrel')
    .description('Petrel BGP daemon: runs the BGP sessions, routes and control socket of one Calico node')
    .option('--node <name>', 'this node\'s name in the datastore (default: $NODENAME, else /var/lib/calico/nodename)')
    .option('--datastore <url>', 'file:<path> or etcd:http://host:2379 (default: $PETREL_DATASTORE, else file:/etc/petrel/cluster.yaml)')
    .option('--ctl-socket <path>', 'BIRD-compatible control socket', CALICO_DEFAULTS.ctlSocket)
    .option('--ctl-socket6 <path>', 'control socket for the IPv6 protocols (default: bird6.ctl beside --ctl-socket when the node has an IPv6 address)')
    .addOption(new Option('--sink <kind>', 'where routes go: the kernel, an in-memory table (mock), or nowhere (none: no kernel table is kept, like a BIRD config without a kernel protocol; for benchmarking the RIB)').choices(['kernel', 'mock', 'none']).default('kernel'))
    .option(
      '--listen <addr:port>',
      'BGP listen address and port; repeat it (or give a comma-separated list) to listen on several, e.g. one per family: --listen 10.0.0.1:179 --listen [fd00::1]:179 (default: the node\'s listenPort on every address, IPv4 and IPv6; under bindMode NodeIP on each node address)',
      (v: string, prev?: string | string[]) => (prev === undefined ? v : [prev, v].flat()),
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error or none (default: the datastore\'s logSeverityScreen)')
    .option('--ipip-device <name>', 'device for routes of IPIP pools (installed onlink via the peer node)', CALICO_DEFAULTS.ipipDevice)
    .option('--no-graceful-restart', 'remove routes a previous run left in the kernel at once, and advertise no preserved forwarding state')
    .option('--restart-on-sigterm', 'SIGTERM means "restarting": close sessions without a NOTIFICATION so peers keep our routes (as SIGUSR2 always does)')
    .addOption(new Option('--intent-file <path>', 'run from a NodeIntent JSON file instead of the datastore (tests)').hideHelp())
    .showHelpAfterError()
    .action(async (o: PetrelOptions) => run(o));
}

/** The datastore feed: the intent for `node`, recomputed on every change. */
export function datastoreSource(url: string, node: string): IntentSource {
  const ds = openDatastore(url);
  const compute = (snapshot: Parameters<typeof computeNodeIntent>[0]) => computeNodeIntent(snapshot, node, process.env);
  // The watch starts with a read of its own; when that gives the intent the daemon started with,
  // applying it again would only redo the start-up work, so it is dropped. The same snapshot (the
  // datastore hands the same one back while the store is unchanged) is not even recomputed.
  let started: { snapshot: Parameters<typeof computeNodeIntent>[0]; intent: NodeIntent } | undefined;
  let watched = false;
  return {
    current: async () => {
      const snapshot = await ds.snapshot();
      const intent = compute(snapshot);
      if (!watched) started = { snapshot, intent };
      return intent;
    },
    watch: async (cb) =>
      ds.watch((ev) => {
        const first = !watched;
        watched = true;
        if (ev.type === 'error') return cb(ev.error);
        if (first && ev.snapshot === started?.snapshot) return;
        try {
          const intent = compute(ev.snapshot);
          if (!first || JSON.stringify(intent) !== JSON.stringify(started?.intent)) cb(intent);
        } catch (e) {
          cb(e instanceof Error ? e : new Error(String(e)));
        }
      }),
    close: () => ds.close(),
  };
}

/** A fixed NodeIntent from a JSON file (re-read on SIGHUP). */
export function intentFileSource(path: string): IntentSource {
  return { current: async () => JSON.parse(await readFile(path, 'utf8')) as NodeIntent };
}

async function runDaemon(o: PetrelOptions): Promise<void> {
  const node = o.node ?? process.env.NODENAME ?? (await nodenameFile());
  if (!o.intentFile && !node) throw new UsageError(`no node name: pass --node <name>, set NODENAME or write it to ${NODENAME_FILE}`);
  const source = o.intentFile ? intentFileSource(o.intentFile) : datastoreSource(resolveDatastoreUrl(o.datastore), node as string);
  // Graceful restart needs the proto bird routes a previous run left: they are read (through the
  // sink's netlink helper, or two `ip` runs) once the daemon listens, before the peers start, and
  // the reconcile below uses the same dump.
  // Nothing is programmed before it is taken (answeringFirstDumpWith holds the applies).
  let takeDump: () => void = () => undefined;
  const kernelDump =
    o.sink === 'kernel' && o.gracefulRestart
      ? new Promise<SinkRoute[]>((resolve, reject) => {
          takeDump = () => {
            // The daemon's own sink reads the table, its helper started for good: one process spawned at start, not two.
            if (sink instanceof KernelSink) sink.warm();
            void (sink instanceof KernelSink ? sink : new KernelSink()).dump().then(resolve, reject);
          };
        })
      : undefined;
  kernelDump?.catch(() => {}); // consumed below; a start that fails first must not report it as unhandled
  // The log level may come from the datastore, so read the intent once before creating the logger.
  let first: NodeIntent;
  try {
    first = await source.current();
  } catch (e) {
    await source.close?.().catch(() => {});
    throw new StartError(e instanceof Error ? e.message : String(e));
  }
  const log = createLogger(o.logLevel ?? first.logLevel);
  let listen: ListenAddress[] | undefined;
  if (o.listen) {
    try {
      listen = parseListenList(o.listen, first.listenPort);
    } catch (e) {
      await source.close?.().catch(() => {});
      throw new UsageError(`--listen: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const sink = o.sink === 'none' ? null : o.sink === 'mock' ? new MockSink() : new KernelSink({ log });
  // RFC 2545: an IPv6 route whose only next hop is link-local goes out of the interface holding our address.
  const linkLocalDevice = await findDeviceHolding(first.ipv6Address);
  const rib = new RibEngine({ intent: first, sink: sink && kernelDump ? answeringFirstDumpWith(sink, kernelDump) : sink, log, ipipDevice: o.ipipDevice, ...(linkLocalDevice ? { linkLocalDevice } : {}) });
  // Routes a previous run left in the kernel (proto bird) that this intent does not want go now.
  const reconcile = () => rib.reconcileSink().then(() => undefined, (e: unknown) => log.warn({ err: String(e) }, 'kernel reconcile failed'));
  const engine = new GracefulRestartEngine({ inner: new RibBridge(rib, log), rib, log });
  // Graceful restart: routes we left in the kernel stay until the peers have re-sent theirs. The
  // daemon listens first (holding what it accepts) and starts the peers once this is decided.
  let reconciled: Promise<void> | undefined;
  const decideRestart = async () => {
    takeDump();
    const preserved = o.gracefulRestart && sink ? await (kernelDump ?? sink.dump()).then((rs) => rs.length, () => 0) : 0;
    if (preserved > 0) {
      log.info({ preserved }, 'graceful restart: kernel routes from the previous run kept');
      const deferral = Math.max(CALICO_DEFAULTS.gracefulRestartTime, ...first.peers.map((p) => p.gracefulRestartTime));
      engine.startRecovery({ peers: first.peers.map((p) => p.name), deferral, onRecovered: reconcile });
    } else reconciled = reconcile(); // queued in the engine before the peers start; they need not wait for it
  };
  const gracefulRestart = o.gracefulRestart ? () => ({ restarting: engine.recovering, forwardingPreserved: true }) : undefined;
  const daemon = await Daemon.start({ source: { ...source, current: onceThen(first, source) }, log, engine, uptimeSeconds: () => process.uptime(), beforePeers: decideRestart, ...(gracefulRestart ? { gracefulRestart } : {}), ...(listen ? { listen } : {}) }).catch((e: unknown) => {
    throw new StartError(e instanceof Error ? e.message : String(e));
  });
  await reconciled;
  // The ip batch process starts now, once listening, so the first learned routes do not wait for its spawn.
  if (sink instanceof KernelSink) sink.warm();
  const stop = installSignals(daemon, log, o.restartOnSigterm === true);
  const backend = new DaemonControlBackend(daemon, rib, { configSource: o.intentFile ?? resolveDatastoreUrl(o.datastore), onDown: () => stop('down') });
  // As calico-node: bird.ctl shows the IPv4 protocols, bird6.ctl (beside it) the IPv6 ones when the node has an IPv6 address.
  const sockets: { path: string; families: (4 | 6)[] }[] = [{ path: o.ctlSocket, families: [4] }];
  const v6Path = o.ctlSocket6 ?? (first.ipv6Address ? join(dirname(o.ctlSocket), 'bird6.ctl') : undefined);
  if (v6Path && v6Path !== o.ctlSocket) sockets.push({ path: v6Path, families: [6] });
  for (const sock of sockets) {
    try {
      const ctl = await startControlServer({ path: sock.path, backend, families: sock.families });
      daemon.onClose(() => ctl.close());
      // process.uptime(), not performance.now(): the same clock (since the process started), without
      // loading node:perf_hooks at every start (~0.5 ms of CPU; the line is built even when not logged).
      log.info({ path: sock.path, families: sock.families, startupMs: Math.round(process.uptime() * 1000), ...launch }, 'control socket ready');
    } catch (e) {
      await daemon.shutdown();
      throw new StartError(`control socket ${sock.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/**
 * `sink` whose first dump() answers with `dumped` (taken at start) instead of reading the kernel a
 * second time. Applies wait until `dumped` is in, so it never sees our own changes (graceful
 * restart counts what it holds as left by a previous run); routes only added from then on (the own
 * blocks, originated before the start-up reconcile runs) are folded into that answer as the kernel
 * now holds them (`route replace`: one route per prefix and metric); after a removal the kernel is
 * read again.
 */
export function answeringFirstDumpWith(sink: RouteSink, dumped: Promise<SinkRoute[]>): RouteSink {
  let first: Promise<SinkRoute[]> | undefined = dumped;
  const key = (r: SinkRoute) => `${r.prefix} ${r.metric ?? ''}`;
  const noop = () => undefined;
  const applyNow = (changes: Parameters<RouteSink['apply']>[0]) => {
    const result = sink.apply(changes);
    const before = first;
    if (before === undefined) return result;
    if (changes.remove.length > 0) first = undefined;
    else {
      first = Promise.all([before, result]).then(([routes, res]) => {
        const failed = new Set(res.failures.map((f) => key(f.route)));
        const added = changes.add.filter((r) => !failed.has(key(r)));
        const replaced = new Set(added.map(key));
        return [...routes.filter((r) => !replaced.has(key(r))), ...added];
      });
      first.catch(noop); // a failed start dump: dump() reads the kernel instead
    }
    return result;
  };
  // Applies made before the dump is in run after it, one after the other in call order; once
  // they are done, applies go straight to the sink again.
  let gate: Promise<unknown> | undefined = dumped.then(noop, noop);
  return {
    apply: (changes) => {
      if (gate === undefined) return applyNow(changes);
      const result = gate.then(() => applyNow(changes));
      const done: Promise<unknown> = result.then(noop, noop);
      gate = done;
      void done.then(() => {
        if (gate === done) gate = undefined;
      });
      return result;
    },
    dump: () => {
      const d = first?.catch(() => sink.dump()) ?? sink.dump();
      first = undefined;
      return d;
    },
  };
}

/** Where calico-node records the node name it settled on. */
const NODENAME_FILE = '/var/lib/calico/nodename';

async function nodenameFile(): Promise<string | undefined> {
  const name = (await readFile(NODENAME_FILE, 'utf8').catch(() => '')).trim();
  return name || undefined;
}

/** The first call returns the intent already read; later calls (SIGHUP) read again. */
function onceThen(first: NodeIntent, source: IntentSource): () => Promise<NodeIntent> {
  let used = false;
  return async () => {
    if (!used) {
      used = true;
      return first;
    }
    return source.current();
  };
}

function installSignals(daemon: Daemon, log: Logger, restartOnSigterm: boolean): (why: string) => void {
  let stopping = false;
  const stop = (signal: string, mode: 'stop' | 'restart' = 'stop') => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, mode }, 'signal received');
    // Peers get at most their linger time to read the Cease; never hang on the way out.
    setTimeout(() => {
      log.warn('shutdown took too long: exiting');
      process.exit(0);
    }, 5000).unref();
    void daemon.shutdown(mode).then(() => {
      process.exitCode = 0;
      // Exit even if some handle lingers; unref'd so a clean drain exits sooner.
      setTimeout(() => process.exit(0), 500).unref();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM', restartOnSigterm ? 'restart' : 'stop'));
  process.on('SIGUSR2', () => stop('SIGUSR2', 'restart'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void daemon.reload());
  return stop;
}

class UsageError extends Error {}
class StartError extends Error {}

/** How the start path (daemon/launcher.cjs) loaded the daemon's code, for the start-up log line. */
export interface LaunchInfo {
  /** The build-time V8 code cache: accepted, rejected (another Node/V8 or flags), stale, missing or off. */
  readonly codeCache?: string;
}

let launch: LaunchInfo = {};

/**
 * Runs the `petrel` command line (node-style argv); a usage error exits 2, a failed start 1.
 * Resolves once the command's start is over: for the daemon, when its control sockets answer.
 */
export function main(argv: readonly string[] = process.argv, info: LaunchInfo = {}): Promise<void> {
  launch = info;
  return buildProgram(runDaemon)
    .parseAsync([...argv])
    .then(() => undefined, (err: unknown) => {
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`petrel: ${msg}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    });
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) void main();
