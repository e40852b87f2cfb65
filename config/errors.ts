/** Configuration errors that name where the problem is: file, line, resource and field. */

export interface ConfigIssue {
  readonly file: string;
  /** 1-based line of the offending field (or of the resource when the field has no line). */
  readonly line: number;
  readonly kind: string;
  readonly name: string;
  /** Dotted path inside the resource, e.g. spec.blockSize; empty for resource-level problems. */
  readonly field: string;
  readonly message: string;
}

export function formatIssue(i: ConfigIssue): string {
  const where = `${i.file}:${i.line}`;
  const what = i.kind ? `${i.kind}(${i.name || '?'})` : 'document';
  return `${where}: ${what}${i.field ? ` field ${i.field}` : ''}: ${i.message}`;
}

/** One or more configuration problems; `message` lists them all, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

/** An IPAM operation that cannot be satisfied (exhaustion, strict affinity, block limit, bad pool). */
export class IpamError extends Error {
  override readonly name = 'IpamError';
  constructor(
    readonly code: 'NO_BLOCK' | 'STRICT_AFFINITY' | 'BLOCK_LIMIT' | 'BAD_POOL' | 'NOT_FOUND' | 'NO_NODE' | 'CONFLICT',
    message: string,
  ) {
    super(message);
  }
}

/** A datastore could not be opened or used (bad URL, I/O, etcd unreachable). */
export class DatastoreError extends Error {
  override readonly name = 'DatastoreError';
}
