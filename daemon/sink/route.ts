/**
 * The kernel route the engine hands to its sink: a SinkRoute whose prefix is kept as the RIB's
 * prefix key (rib/keys.ts: one number per IPv4 prefix), its CIDR text made only when something
 * asks for it (the ip -batch sink, logs, status). The netlink encoder reads the key: 10,000 routes
 * learned used to be 10,000 strings formatted by the policy and parsed back by the encoder and the
 * validator, three more functions for V8 to compile while the table arrives.
 *
 * Every instance has the same fields in the same order (one hidden class for the code on the
 * route path). It is what the engine passes along; anything that keeps or shows a route (the mock
 * sink's table, failure records, toSinkRoute's answer) takes a plain copy (plainSinkRoute).
 */
import type { SinkRoute } from '../model.js';
import { keyToCidr, type PrefixKey } from '../rib/keys.js';

export class KeyedRoute {
  private text: string | undefined = undefined;

  constructor(
    /** The RIB key of the prefix: a number for IPv4 (address * 64 + length), a string for IPv6. */
    readonly key: PrefixKey,
    readonly type: 'blackhole' | 'unicast',
    readonly via: string | undefined,
    readonly dev: string | undefined,
    readonly onlink: boolean | undefined,
    readonly metric: number | undefined,
  ) {}

  /** CIDR text, made on first use. */
  get prefix(): string {
    return (this.text ??= keyToCidr(this.key));
  }

  /** Logs and JSON show the plain route. */
  toJSON(): SinkRoute {
    return plainSinkRoute(this);
  }
}

/** A route of the engine, typed as what sinks take (its optional fields are present and undefined). */
export function keyedRoute(key: PrefixKey, type: 'blackhole' | 'unicast', via?: string, dev?: string, onlink?: boolean, metric?: number): SinkRoute {
  return new KeyedRoute(key, type, via, dev, onlink, metric) as SinkRoute;
}

/** A plain object with only the fields that are set, in the order prefix, type, via, dev, onlink, metric. */
export function plainSinkRoute(r: SinkRoute): SinkRoute {
  if (!(r instanceof KeyedRoute)) return r;
  return {
    prefix: r.prefix,
    type: r.type,
    ...(r.via !== undefined ? { via: r.via } : {}),
    ...(r.dev !== undefined ? { dev: r.dev } : {}),
    ...(r.onlink !== undefined ? { onlink: r.onlink } : {}),
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
  };
}

/** The IPv4 key of an engine route, or -1 (an IPv6 or a plain route). */
export function key4Of(r: SinkRoute): number {
  return r instanceof KeyedRoute && typeof r.key === 'number' ? r.key : -1;
}
