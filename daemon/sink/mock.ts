/**
 * An in-memory RouteSink: the kernel table Petrel would program, for tests and for running
 * without root. Keyed like the kernel (prefix + metric), dumpable as JSON.
 */
import type { RouteSink, SinkResult, SinkRoute } from '../model.js';
import { KeyedRoute, plainSinkRoute } from './route.js';

export interface MockSinkOptions {
  /** Returns a failure reason for a route the mock should refuse (tests of failure reporting). */
  readonly refuse?: (route: SinkRoute) => string | undefined;
}

function slotOf(r: SinkRoute): string {
  return `${r.prefix} ${r.metric ?? ''}`;
}

export class MockSink implements RouteSink {
  private readonly table = new Map<string, SinkRoute>();
  /** Number of apply calls (batches), for tests of batching. */
  applyCalls = 0;

  constructor(private readonly opts: MockSinkOptions = {}) {}

  async apply(changes: { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] }): Promise<SinkResult> {
    this.applyCalls++;
    const failures: { route: SinkRoute; reason: string }[] = [];
    let applied = 0;
    for (const r of changes.remove) {
      this.table.delete(slotOf(r));
      applied++;
    }
    for (const added of changes.add) {
      // A copy with the prefix as text (the engine's routes carry it as a key: route.ts).
      const r = added instanceof KeyedRoute ? plainSinkRoute(added) : { ...added };
      const reason = this.opts.refuse?.(r);
      if (reason !== undefined) {
        failures.push({ route: r, reason });
        continue;
      }
      this.table.set(slotOf(r), r);
      applied++;
    }
    return { applied, failures };
  }

  async dump(): Promise<SinkRoute[]> {
    return this.snapshot();
  }

  /** The table, sorted by prefix text: stable for comparisons. */
  snapshot(): SinkRoute[] {
    return [...this.table.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  get size(): number {
    return this.table.size;
  }

  toJSON(): SinkRoute[] {
    return this.snapshot();
  }
}
