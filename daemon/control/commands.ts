/**
 * Runs one parsed request line against the backend and produces its reply lines (final line
 * included). Stateless apart from the per-connection `restricted` flag the caller keeps.
 */
import type { Family } from '../model.js';
import type { BgpProtocolView, ControlBackend, SystemProtocolView } from './backend.js';
import { finalLine, line, type Dialect, type ReplyLine } from './framing.js';
import { interfacesFromOs, interfacesReply, memoryFromProcess, memoryReply, statusReply } from './format-misc.js';
import { entryName, protocolLines, type ProtocolEntry } from './format-protocols.js';
import { showRouteReply } from './format-routes.js';
import { CommandError, parseCommand, type Command, type ProtoTarget, type SymbolTable } from './parser.js';

export interface CommandContext {
  readonly backend: ControlBackend;
  readonly dialect: Dialect;
  readonly families: readonly Family[];
  readonly now: () => Date;
  readonly version?: string;
}

/** Per-connection state BIRD keeps between commands. */
export interface SessionState {
  restricted: boolean;
}

/** A reply: lines now, or (configure) lines once the backend answered. `closeAfter`: `down`. */
export interface Reply {
  readonly lines: Iterable<ReplyLine> | Promise<Iterable<ReplyLine>>;
  readonly closeAfter?: boolean;
  /** Runs after the reply was flushed (the shutdown of `down`). */
  readonly after?: () => void;
}

/** Filters and templates a Calico BIRD config defines: known symbols that are not protocols. */
const OTHER_SYMBOLS = ['calico_export_to_bgp_peers', 'calico_kernel_programming', 'bgp_template', 'calico_aggr'];

const familyOfAddr = (addr: string): Family => (addr.includes(':') ? 6 : 4);

function defaultSystemProtocols(backend: ControlBackend, families: readonly Family[]): SystemProtocolView[] {
  const since = backend.status().startedAt;
  const table = families.includes(4) ? 'master4' : 'master6';
  const ch = (preference: number, outputFilter: string) => ({
    name: table === 'master4' ? 'ipv4' : 'ipv6', state: 'UP' as const, table, preference, inputFilter: 'ACCEPT', outputFilter,
  });
  return [
    { name: 'static1', proto: 'Static', state: 'up', since, channels: [ch(200, 'REJECT')] },
    { name: 'kernel1', proto: 'Kernel', state: 'up', since, channels: [ch(10, 'calico_kernel_programming')] },
    { name: 'device1', proto: 'Device', state: 'up', since, channels: [] },
    { name: 'direct1', proto: 'Direct', state: 'up', since, channels: [ch(240, 'REJECT')] },
  ];
}

/** All protocols this socket shows, in BIRD's (config) order: system protocols, then BGP. */
export function protocolEntries(ctx: CommandContext): ProtocolEntry[] {
  const system = ctx.backend.systemProtocols?.() ?? defaultSystemProtocols(ctx.backend, ctx.families);
  const bgp = ctx.backend.protocols().filter((p: BgpProtocolView) => (p.families ?? [familyOfAddr(p.peerIp)]).some((f) => ctx.families.includes(f)));
  return [...system.map((view) => ({ type: 'system' as const, view })), ...bgp.map((view) => ({ type: 'bgp' as const, view }))];
}

/** BIRD's shell-like pattern match: `*` any run, `?` any one character. */
export function patternMatches(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
  return re.test(name);
}

function select(entries: readonly ProtocolEntry[], target: ProtoTarget | undefined): ProtocolEntry[] {
  if (!target || target.kind === 'all') return [...entries];
  if (target.kind === 'name') return entries.filter((e) => entryName(e) === target.name);
  return entries.filter((e) => patternMatches(target.pattern, entryName(e)));
}

function symbolsOf(entries: readonly ProtocolEntry[], dialect: Dialect): SymbolTable {
  const names = new Set(entries.map(entryName));
  const tables = dialect === 'bird2' ? ['master4', 'master6'] : ['master'];
  return {
    isProtocol: (n) => names.has(n),
    isTable: (n) => tables.includes(n),
    isOther: (n) => OTHER_SYMBOLS.includes(n),
  };
}

const ADMIN = new Set(['configure', 'configure-confirm', 'configure-undo', 'admin', 'reload', 'down']);

/** Executes one request line; never throws (errors become BIRD error replies). */
export function execute(input: string, ctx: CommandContext, state: SessionState): Reply {
  try {
    const entries = protocolEntries(ctx);
    const cmd = parseCommand(input, { dialect: ctx.dialect, symbols: symbolsOf(entries, ctx.dialect) });
    if (state.restricted && ADMIN.has(cmd.kind)) return { lines: [finalLine(8007, 'Access denied')] };
    return run(cmd, entries, ctx, state);
  } catch (err) {
    if (err instanceof CommandError) return { lines: [finalLine(err.code, err.text)] };
    return { lines: [finalLine(8000, `Internal error: ${err instanceof Error ? err.message : String(err)}`)] };
  }
}

function run(cmd: Command, entries: readonly ProtocolEntry[], ctx: CommandContext, state: SessionState): Reply {
  const { backend, dialect } = ctx;
  switch (cmd.kind) {
    case 'show-status': return { lines: statusReply({ ...backend.status(), ...(ctx.version ? { version: ctx.version } : {}) }, ctx.now(), dialect) };
    case 'show-memory': return { lines: memoryReply(backend.memory?.() ?? memoryFromProcess(), dialect) };
    case 'show-interfaces': return { lines: interfacesReply(backend.interfaces?.() ?? interfacesFromOs(), cmd.summary, dialect, ctx.families) };
    case 'show-protocols': {
      const chosen = select(entries, cmd.target);
      if (chosen.length === 0) return { lines: [finalLine(8003, 'No protocols match')] };
      const fctx = { dialect, now: ctx.now() };
      return { lines: (function* () { yield* protocolLines(chosen, cmd.all, fctx); yield finalLine(0); })() };
    }
    case 'show-route': {
      const tables = dialect === 'bird2' ? ctx.families.map((f) => (f === 4 ? 'master4' : 'master6')) : [ctx.families[0] === 6 ? 'master6' : 'master4'];
      // BIRD 1.6 has one table per daemon, called `master`; map it to the family's table.
      const args = dialect === 'bird1' ? { ...cmd, tables: [] } : cmd;
      const protocolTables = (name: string): string[] => {
        const e = entries.find((x) => entryName(x) === name);
        if (!e) return [];
        if (e.type === 'system') return e.view.channels.map((c) => c.table);
        return e.view.channels?.map((c) => c.table) ?? (e.view.families ?? [familyOfAddr(e.view.peerIp)]).map((f) => (f === 6 ? 'master6' : 'master4'));
      };
      return { lines: showRouteReply((q) => backend.routes(q), args, { dialect, now: ctx.now(), tables, protocolTables }) };
    }
    case 'configure':
      return {
        lines: backend.configure(cmd.check).then((r) => {
          const head = line(2, `Reading configuration from ${r.source}`);
          if (!r.ok) return [head, finalLine(8002, r.error ?? 'Configuration error')];
          return [head, cmd.check ? finalLine(20, 'Configuration OK') : finalLine(3, 'Reconfigured')];
        }),
      };
    case 'configure-confirm': case 'configure-undo': return { lines: [finalLine(19, 'Nothing to do')] };
    case 'admin': {
      const chosen = select(entries, cmd.target);
      if (chosen.length === 0) return { lines: [finalLine(8003, 'No protocols match')] };
      const out: ReplyLine[] = [];
      for (const e of chosen) {
        const name = entryName(e);
        if (cmd.action === 'disable') {
          const r = backend.disable(name, cmd.message);
          out.push(r === 'already' ? line(8, `${name}: already disabled`) : line(9, `${name}: disabled`));
        } else if (cmd.action === 'enable') {
          const r = backend.enable(name);
          out.push(r === 'already' ? line(10, `${name}: already enabled`) : line(11, `${name}: enabled`));
        } else if (e.type === 'bgp' && e.view.disabled) {
          out.push(line(8, `${name}: already disabled`));
        } else {
          backend.restart(name);
          out.push(line(12, `${name}: restarted`));
        }
      }
      out.push(finalLine(0));
      return { lines: out };
    }
    case 'reload': {
      const chosen = select(entries, cmd.target);
      if (chosen.length === 0) return { lines: [finalLine(8003, 'No protocols match')] };
      const out: ReplyLine[] = [];
      for (const e of chosen) {
        backend.reload?.(entryName(e), cmd.direction);
        out.push(line(15, `${entryName(e)}: reloading`));
      }
      out.push(finalLine(0));
      return { lines: out };
    }
    case 'down': return { lines: [finalLine(7, 'Shutdown requested')], closeAfter: true, after: () => backend.shutdown() };
    case 'restrict':
      state.restricted = true;
      return { lines: [finalLine(16, 'Access restricted')] };
  }
}
