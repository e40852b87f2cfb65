/**
 * Which sink the daemon runs with. Programming routes needs CAP_NET_ADMIN; without it the daemon
 * says so, and runs on the mock sink only when asked to (`fallbackToMock`), never silently.
 */
import { readFileSync } from 'node:fs';
import type { RouteSink } from '../model.js';
import { KernelSink, type KernelSinkOptions } from './kernel.js';
import { MockSink } from './mock.js';

const CAP_NET_ADMIN = 12;

export class SinkUnavailableError extends Error {
  override readonly name = 'SinkUnavailableError';
}

/** True when this process may change routing tables (effective CAP_NET_ADMIN; root usually has it). */
export function hasNetAdmin(statusText?: string): boolean {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return process.getuid?.() === 0;
    }
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  if (!m) return false;
  return (BigInt(`0x${m[1]}`) & (1n << BigInt(CAP_NET_ADMIN))) !== 0n;
}

export interface SinkChoice {
  readonly sink: RouteSink;
  readonly kind: 'kernel' | 'mock';
  /** Set when the daemon should tell the operator something (the fallback). */
  readonly warning?: string;
}

export function chooseSink(opts: {
  readonly kind: 'kernel' | 'mock';
  readonly fallbackToMock?: boolean;
  readonly kernel?: KernelSinkOptions;
  /** For tests: overrides the capability check. */
  readonly netAdmin?: boolean;
}): SinkChoice {
  if (opts.kind === 'mock') return { sink: new MockSink(), kind: 'mock' };
  const allowed = opts.netAdmin ?? hasNetAdmin();
  if (allowed) return { sink: new KernelSink(opts.kernel), kind: 'kernel' };
  const why = 'programming kernel routes needs CAP_NET_ADMIN (run as root)';
  if (!opts.fallbackToMock) throw new SinkUnavailableError(`${why}; pass the mock sink option to run without kernel routes`);
  return { sink: new MockSink(), kind: 'mock', warning: `${why}; running with the in-memory mock sink: no kernel routes will be installed` };
}
