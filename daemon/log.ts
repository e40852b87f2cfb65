/**
 * The daemon's logger: pino, one JSON object per line on stdout (or a given stream), passwords
 * redacted. Levels follow Calico's logSeverityScreen words as well as pino's.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' | 'none';

const LEVEL_ALIASES: Readonly<Record<string, string>> = { none: 'silent', warning: 'warn', critical: 'fatal', panic: 'fatal' };

export function normaliseLevel(level: string): string {
  const l = level.toLowerCase();
  return LEVEL_ALIASES[l] ?? l;
}

export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  const opts = {
    name: 'petrel',
    level: normaliseLevel(level),
    redact: { paths: ['password', '*.password', 'peer.password', 'intent.password'], censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
