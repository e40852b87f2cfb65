/**
 * The daemon's logger: one JSON object per line on stdout (or a given stream), in pino's format
 * (`level` number, `time`, `pid`, `name`, bindings, fields, `msg`) and with pino's call shapes, so
 * every module keeps pino's `Logger` type. Passwords are redacted. Levels follow Calico's
 * logSeverityScreen words as well as pino's.
 *
 * Why not pino itself: it is ~30 CommonJS files (~40 ms of CPU and ~7 MB at every start), and a
 * node starts thirty daemons at once in a mesh benchmark; the daemon uses only this small subset.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';

export type { Logger };

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' | 'none';

/** Where lines go: anything with pino's destination `write(line)`. */
export interface DestinationStream {
  write(line: string): void;
}

const LEVEL_ALIASES: Readonly<Record<string, string>> = { none: 'silent', warning: 'warn', critical: 'fatal', panic: 'fatal' };
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const CENSOR = '[redacted]';

export function normaliseLevel(level: string): string {
  const l = level.toLowerCase();
  return LEVEL_ALIASES[l] ?? l;
}

/** Errors as pino's serializer writes them; everything else as JSON would. */
function errorJson(e: Error): Record<string, unknown> {
  return { type: e.name, message: e.message, stack: e.stack, ...(typeof (e as NodeJS.ErrnoException).code === 'string' ? { code: (e as NodeJS.ErrnoException).code } : {}) };
}

/** A password field at the top level or one level down (pino's 'password' and '*.password'). */
function redacted(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  const censor = (obj: Record<string, unknown>) => ('password' in obj ? { ...obj, password: CENSOR } : obj);
  out = censor(out);
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Error) && 'password' in v) {
      if (out === fields) out = { ...fields };
      out[k] = censor(v as Record<string, unknown>);
    }
  }
  return out;
}

function stringify(record: Record<string, unknown>): string {
  const replacer = (seen?: WeakSet<object>) => (_key: string, v: unknown) => {
    if (v instanceof Error) return errorJson(v);
    if (typeof v === 'bigint') return v.toString();
    if (seen && typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    return v;
  };
  try {
    return JSON.stringify(record, replacer());
  } catch {
    return JSON.stringify(record, replacer(new WeakSet()));
  }
}

class JsonLogger {
  readonly levelVal: number;

  constructor(
    readonly level: string,
    private readonly bindings: Record<string, unknown>,
    private readonly out: DestinationStream,
  ) {
    const v = LEVELS[level];
    if (v === undefined) throw new Error(`unknown log level "${level}" (expected one of ${Object.keys(LEVELS).join(', ')})`);
    this.levelVal = v;
    for (const m of METHODS) {
      const n = LEVELS[m] as number;
      (this as unknown as Record<string, unknown>)[m] = n >= this.levelVal ? (a?: unknown, ...rest: unknown[]) => this.write(n, a, rest) : () => undefined;
    }
  }

  isLevelEnabled(level: string): boolean {
    return (LEVELS[level] ?? Infinity) >= this.levelVal;
  }

  child(bindings: Record<string, unknown>): JsonLogger {
    return new JsonLogger(this.level, { ...this.bindings, ...redacted(bindings) }, this.out);
  }

  flush(): void {}

  private write(level: number, first: unknown, rest: unknown[]): void {
    let fields: Record<string, unknown> = {};
    let msg: unknown;
    if (first instanceof Error) {
      fields = { err: first };
      msg = rest.length > 0 ? format(...rest) : first.message;
    } else if (typeof first === 'object' && first !== null) {
      fields = redacted(first as Record<string, unknown>);
      if (rest.length > 0) msg = format(...rest);
    } else if (first !== undefined) {
      msg = rest.length > 0 ? format(first, ...rest) : String(first);
    }
    const record: Record<string, unknown> = { level, time: Date.now(), ...this.bindings, ...fields };
    if (msg !== undefined) record.msg = msg;
    this.out.write(`${stringify(record)}\n`);
  }
}

const stdout: DestinationStream = { write: (line) => void process.stdout.write(line) };

export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  return new JsonLogger(normaliseLevel(level), { pid: process.pid, name: 'petrel' }, destination ?? stdout) as unknown as Logger;
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return createLogger('silent');
}
