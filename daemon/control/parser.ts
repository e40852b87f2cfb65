/**
 * The control-socket command language: a lexer and a hand-written parser for the commands Petrel
 * serves, answering malformed input with BIRD's own messages. BIRD parses CLI lines with its
 * config grammar (bison): keywords are exact lower case, unknown words are CF_SYM_UNDEFINED,
 * defined names CF_SYM_KNOWN, and an error names the unexpected token and, when there are at
 * most four, the tokens that would have fitted.
 */
import { isIpv4, isIpv6 } from '../../proto/prefix.js';
import type { Dialect } from './framing.js';

export type ProtoTarget =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'pattern'; readonly pattern: string }
  | { readonly kind: 'all' };

export type RouteExportMode = 'export' | 'preexport' | 'noexport';

export interface ShowRouteArgs {
  readonly all: boolean;
  readonly count: boolean;
  readonly primary: boolean;
  readonly forAddress?: string;
  /** `show route <net>`: exact network. */
  readonly net?: string;
  readonly tables: readonly string[];
  readonly protocol?: string;
  readonly exportOf?: { readonly mode: RouteExportMode; readonly protocol: string };
}

export type Command =
  | { readonly kind: 'show-status' }
  | { readonly kind: 'show-memory' }
  | { readonly kind: 'show-interfaces'; readonly summary: boolean }
  | { readonly kind: 'show-protocols'; readonly all: boolean; readonly target?: ProtoTarget }
  | ({ readonly kind: 'show-route' } & ShowRouteArgs)
  | { readonly kind: 'configure'; readonly check: boolean; readonly soft: boolean }
  | { readonly kind: 'configure-confirm' | 'configure-undo' }
  | { readonly kind: 'admin'; readonly action: 'disable' | 'enable' | 'restart'; readonly target: ProtoTarget; readonly message?: string }
  | { readonly kind: 'reload'; readonly direction: 'in' | 'out' | 'both'; readonly target: ProtoTarget }
  | { readonly kind: 'down' }
  | { readonly kind: 'restrict' };

/** A command rejected before it ran: the single reply line to send. */
export class CommandError extends Error {
  constructor(readonly code: number, readonly text: string) {
    super(`${code} ${text}`);
    this.name = 'CommandError';
  }
}

/** The names the lexer resolves, as BIRD's symbol table would. */
export interface SymbolTable {
  isProtocol(name: string): boolean;
  isTable(name: string): boolean;
  /** Any other defined symbol (filters, templates): known but not a protocol or table. */
  isOther(name: string): boolean;
}

type Token =
  | { readonly t: 'KW'; readonly v: string }
  | { readonly t: 'SYM'; readonly v: string; readonly known: boolean }
  | { readonly t: 'TEXT'; readonly v: string }
  | { readonly t: 'IP4' | 'IP6' | 'NUM'; readonly v: string }
  | { readonly t: 'CHAR'; readonly v: string }
  | { readonly t: 'END' };

/** Keywords of BIRD's grammar that a CLI line may contain (a keyword is never a symbol). */
const KEYWORDS = new Set([
  'all', 'bgp', 'channel', 'check', 'configure', 'confirm', 'count', 'debug', 'device', 'direct', 'disable', 'down', 'dump',
  'echo', 'enable', 'eval', 'export', 'exported', 'filter', 'filtered', 'for', 'graceful', 'import', 'in', 'interfaces',
  'kernel', 'memory', 'mrtdump', 'noexport', 'ospf', 'out', 'preexport', 'primary', 'protocol', 'protocols', 'reload',
  'restart', 'restrict', 'rip', 'route', 'show', 'soft', 'static', 'stats', 'status', 'summary', 'symbols',
  'table', 'timeout', 'undo', 'where',
]);

/** bison's ordering of token kinds in "expecting" lists (declaration order in BIRD's grammar). */
const TOKEN_ORDER = ['END', 'NUM', 'IP4', 'IP6', 'VPN_RD', 'CF_SYM_KNOWN', 'CF_SYM_UNDEFINED', 'TEXT'];

function tokenName(tok: Token): string {
  switch (tok.t) {
    case 'KW': return tok.v.toUpperCase();
    case 'SYM': return tok.known ? 'CF_SYM_KNOWN' : 'CF_SYM_UNDEFINED';
    case 'CHAR': return `'${tok.v}'`;
    default: return tok.t;
  }
}

export function tokenize(input: string, symbols: SymbolTable): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') break;
    if (c === '"') {
      const end = input.indexOf('"', i + 1);
      if (end < 0) throw new CommandError(9001, 'Unterminated string');
      out.push({ t: 'TEXT', v: input.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const rest = input.slice(i);
    const ip4 = /^\d+\.\d+\.\d+\.\d+/.exec(rest);
    if (ip4) {
      if (!isIpv4(ip4[0])) throw new CommandError(9001, `Invalid IPv4 address ${ip4[0]}`);
      out.push({ t: 'IP4', v: ip4[0] });
      i += ip4[0].length;
      continue;
    }
    const ip6 = /^[0-9a-fA-F]*:[0-9a-fA-F:.]*/.exec(rest);
    if (ip6 && ip6[0].length > 1) {
      if (!isIpv6(ip6[0])) throw new CommandError(9001, `Invalid IPv6 address ${ip6[0]}`);
      out.push({ t: 'IP6', v: ip6[0] });
      i += ip6[0].length;
      continue;
    }
    const num = /^\d+/.exec(rest);
    if (num) { out.push({ t: 'NUM', v: num[0] }); i += num[0].length; continue; }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      const w = word[0];
      if (KEYWORDS.has(w)) out.push({ t: 'KW', v: w });
      else out.push({ t: 'SYM', v: w, known: symbols.isProtocol(w) || symbols.isTable(w) || symbols.isOther(w) });
      i += w.length;
      continue;
    }
    out.push({ t: 'CHAR', v: c });
    i++;
  }
  out.push({ t: 'END' });
  return out;
}

class Cursor {
  private pos = 0;
  constructor(private readonly toks: readonly Token[], private readonly dialect: Dialect) {}
  peek(): Token { return this.toks[this.pos]!; }
  next(): Token { return this.toks[this.pos++]!; }
  /** Steps back over the token just taken, so an error names it. */
  back(): void { this.pos--; }
  isKw(v: string): boolean { const t = this.peek(); return t.t === 'KW' && t.v === v; }
  takeKw(v: string): boolean { if (this.isKw(v)) { this.pos++; return true; } return false; }

  /** BIRD's bison message: the unexpected token and up to four expected ones. */
  fail(expected: readonly string[] = []): never {
    if (this.dialect === 'bird1') throw new CommandError(9001, 'syntax error');
    let msg = `syntax error, unexpected ${tokenName(this.peek())}`;
    if (expected.length > 0 && expected.length <= 4) msg += `, expecting ${orderTokens(expected).join(' or ')}`;
    throw new CommandError(9001, msg);
  }
  end(extra: readonly string[] = []): void {
    if (this.peek().t !== 'END') this.fail(['END', ...extra]);
  }
}

function orderTokens(names: readonly string[]): string[] {
  const rank = (s: string) => {
    if (s.startsWith("'")) return -1000 + s.charCodeAt(1);
    const i = TOKEN_ORDER.indexOf(s);
    return i >= 0 ? i : 100;
  };
  return [...names].sort((a, b) => rank(a) - rank(b));
}

export interface ParseOptions {
  readonly dialect: Dialect;
  readonly symbols: SymbolTable;
}

/** Parses one request line into a Command or throws CommandError with BIRD's reply. */
export function parseCommand(input: string, opts: ParseOptions): Command {
  const cur = new Cursor(tokenize(input, opts.symbols), opts.dialect);
  const first = cur.peek();
  if (first.t !== 'KW') return cur.fail();
  cur.next();
  switch (first.v) {
    case 'show': return parseShow(cur, opts);
    case 'configure': return parseConfigure(cur);
    case 'disable': case 'enable': case 'restart': {
      const target = parseProtoPattern(cur, opts, true, ['CF_SYM_KNOWN', 'TEXT', 'ALL']);
      let message: string | undefined;
      const t = cur.peek();
      if (first.v === 'disable' && t.t === 'TEXT' && opts.dialect === 'bird2') { message = t.v; cur.next(); }
      cur.end(first.v === 'disable' && message === undefined && opts.dialect === 'bird2' ? ['TEXT'] : []);
      return message === undefined ? { kind: 'admin', action: first.v, target } : { kind: 'admin', action: first.v, target, message };
    }
    case 'reload': {
      let direction: 'in' | 'out' | 'both' = 'both';
      if (cur.takeKw('in')) direction = 'in';
      else if (cur.takeKw('out')) direction = 'out';
      const target = parseProtoPattern(cur, opts, true, ['CF_SYM_KNOWN', 'TEXT', 'ALL', ...(direction === 'both' ? ['IN', 'OUT'] : [])]);
      cur.end();
      return { kind: 'reload', direction, target };
    }
    case 'down': cur.end(); return { kind: 'down' };
    case 'restrict': cur.end(); return { kind: 'restrict' };
    default: return cur.fail();
  }
}

function parseShow(cur: Cursor, opts: ParseOptions): Command {
  const t = cur.peek();
  if (t.t !== 'KW') return cur.fail();
  cur.next();
  switch (t.v) {
    case 'status': cur.end(); return { kind: 'show-status' };
    case 'memory': cur.end(); return { kind: 'show-memory' };
    case 'interfaces': {
      const summary = cur.takeKw('summary');
      cur.end(summary ? [] : ['SUMMARY']);
      return { kind: 'show-interfaces', summary };
    }
    case 'protocols': {
      const all = cur.takeKw('all');
      if (cur.peek().t === 'END') return { kind: 'show-protocols', all };
      const target = parseProtoPattern(cur, opts, false, ['END', 'CF_SYM_KNOWN', 'TEXT', ...(all ? [] : ['ALL'])]);
      cur.end();
      return { kind: 'show-protocols', all, target };
    }
    case 'route': return parseShowRoute(cur, opts);
    default: return cur.fail();
  }
}

/**
 * proto_patt: a defined protocol name, a quoted pattern, or `all`. An undefined bare name is a
 * syntax error in 2.0 ("9002 <name> is not a protocol" in 1.6); another kind of symbol is
 * "Protocol name required".
 */
function parseProtoPattern(cur: Cursor, opts: ParseOptions, allowAll: boolean, expected: readonly string[]): ProtoTarget {
  const t = cur.peek();
  if (t.t === 'TEXT') { cur.next(); return { kind: 'pattern', pattern: t.v }; }
  if (allowAll && t.t === 'KW' && t.v === 'all') { cur.next(); return { kind: 'all' }; }
  if (t.t === 'SYM') {
    if (opts.dialect === 'bird1') {
      cur.next();
      if (!opts.symbols.isProtocol(t.v)) throw new CommandError(9002, `${t.v} is not a protocol`);
      return { kind: 'name', name: t.v };
    }
    if (t.known) {
      cur.next();
      if (!opts.symbols.isProtocol(t.v)) throw new CommandError(9001, 'Protocol name required');
      return { kind: 'name', name: t.v };
    }
  }
  return cur.fail(expected);
}

function parseShowRoute(cur: Cursor, opts: ParseOptions): Command {
  let all = false, count = false, primary = false;
  let forAddress: string | undefined, net: string | undefined, protocol: string | undefined;
  let exportOf: ShowRouteArgs['exportOf'];
  const tables: string[] = [];
  for (;;) {
    const t = cur.next();
    if (t.t === 'END') break;
    if (t.t === 'IP4' || t.t === 'IP6') {
      net = readNet(cur, t.v, false);
      continue;
    }
    if (t.t !== 'KW') { cur.back(); return cur.fail(); }
    switch (t.v) {
      case 'all': all = true; break;
      case 'primary': primary = true; break;
      case 'count': case 'stats': count = true; break;
      case 'for': {
        const a = cur.peek();
        if (a.t === 'IP4' || a.t === 'IP6') { cur.next(); forAddress = readNet(cur, a.v, true); break; }
        if (a.t === 'SYM' && a.known) { cur.next(); throw new CommandError(9001, 'IP address or network constant expected'); }
        return cur.fail(['IP4', 'IP6', 'VPN_RD', 'CF_SYM_KNOWN']);
      }
      case 'table': {
        const a = cur.peek();
        if (a.t === 'SYM' && a.known) {
          cur.next();
          if (!opts.symbols.isTable(a.v)) throw new CommandError(9001, 'Table name required');
          tables.push(a.v);
          break;
        }
        if (a.t === 'KW' && a.v === 'all') { cur.next(); tables.push('*'); break; }
        return cur.fail(['CF_SYM_KNOWN', 'ALL']);
      }
      case 'protocol': {
        const a = cur.peek();
        if (a.t === 'SYM' && a.known) {
          cur.next();
          if (!opts.symbols.isProtocol(a.v)) throw new CommandError(9001, 'Protocol name required');
          protocol = a.v;
          break;
        }
        return cur.fail(['CF_SYM_KNOWN']);
      }
      case 'export': case 'preexport': case 'noexport': {
        const a = cur.peek();
        if (a.t === 'SYM' && a.known) {
          cur.next();
          if (!opts.symbols.isProtocol(a.v)) throw new CommandError(9001, `${a.v} is not a protocol`);
          exportOf = { mode: t.v, protocol: a.v };
          break;
        }
        return cur.fail(['CF_SYM_KNOWN', 'CHANNEL']);
      }
      default: cur.back(); return cur.fail();
    }
  }
  return {
    kind: 'show-route', all, count, primary, tables,
    ...(forAddress !== undefined ? { forAddress } : {}),
    ...(net !== undefined ? { net } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    ...(exportOf !== undefined ? { exportOf } : {}),
  };
}

/** An address, followed by `/len` (required for a network, optional after `for`). */
function readNet(cur: Cursor, addr: string, prefixOptional: boolean): string {
  const slash = cur.peek();
  if (slash.t === 'CHAR' && slash.v === '/') {
    cur.next();
    const len = cur.next();
    if (len.t !== 'NUM') { cur.back(); return cur.fail(['NUM']); }
    if (Number(len.v) > (addr.includes(':') ? 128 : 32)) throw new CommandError(9001, `Invalid prefix length ${len.v}`);
    return `${addr}/${len.v}`;
  }
  if (prefixOptional) return addr;
  return cur.fail(["'/'"]);
}

function parseConfigure(cur: Cursor): Command {
  if (cur.takeKw('check')) {
    if (cur.peek().t === 'TEXT') cur.next();
    cur.end(['TEXT']);
    return { kind: 'configure', check: true, soft: false };
  }
  if (cur.takeKw('confirm')) { cur.end(); return { kind: 'configure-confirm' }; }
  if (cur.takeKw('undo')) { cur.end(); return { kind: 'configure-undo' }; }
  const soft = cur.takeKw('soft');
  if (cur.takeKw('timeout') && cur.peek().t === 'NUM') cur.next();
  if (cur.peek().t === 'TEXT') cur.next();
  if (cur.peek().t !== 'END') cur.fail();
  return { kind: 'configure', check: false, soft };
}
