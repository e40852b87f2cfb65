/** The one datastore interface (file or etcd) that the daemon, petrelctl and tests use. */
import type { ConfigError, ConfigIssue } from '../errors.js';
import type { AllocateRequest } from '../ipam/assign.js';
import type { ClusterSnapshot, Resource, ResourceKind } from '../resources.js';

export type WatchEvent =
  | { readonly type: 'snapshot'; readonly snapshot: ClusterSnapshot }
  /** The store now holds invalid content; `lastGood` is the snapshot to keep running on. */
  | { readonly type: 'error'; readonly error: ConfigError | Error; readonly lastGood?: ClusterSnapshot };

export interface AllocateResult {
  readonly ip: string;
  readonly block: string;
  /** The address sits in another node's block (announced as a /32 or /128). */
  readonly borrowed: boolean;
  /** Blocks claimed for this node while serving the request. */
  readonly claimed: readonly string[];
}

export interface ApplyResult {
  readonly created: string[];
  readonly updated: string[];
}

export interface Liveness {
  /** Stops announcing the node as alive (etcd: revokes the lease). */
  close(): Promise<void>;
}

export interface Datastore {
  readonly url: string;
  /** Everything, validated; throws ConfigError when the stored content is invalid. */
  snapshot(): Promise<ClusterSnapshot>;
  list(kind?: ResourceKind): Promise<Resource[]>;
  get(kind: ResourceKind, name: string): Promise<Resource | undefined>;
  /** Creates or replaces resources after validating them against everything stored; throws ConfigError. */
  apply(resources: readonly Resource[]): Promise<ApplyResult>;
  /** Deletes resources by kind and name; returns the keys deleted and those that did not exist. */
  delete(refs: readonly { kind: ResourceKind; name: string }[]): Promise<{ deleted: string[]; missing: string[] }>;
  allocate(req: AllocateRequest): Promise<AllocateResult>;
  release(what: { ip?: string; handle?: string }): Promise<string[]>;
  /** Releases a node's empty affine blocks (keeping its last one unless keepLast is false). */
  releaseEmptyBlocks(node: string, keepLast?: boolean): Promise<string[]>;
  /** Calls back with a fresh snapshot on every change (and once at start); returns a stop function. */
  watch(cb: (ev: WatchEvent) => void): Promise<() => Promise<void>>;
  /** Announces that `node` is alive for as long as this process keeps the returned handle. */
  registerLiveness(node: string, ttlSeconds?: number): Promise<Liveness>;
  liveNodes(): Promise<string[]>;
  close(): Promise<void>;
}

/** What a concrete store provides; the shared logic in store.ts builds a Datastore on top. */
export interface StoreBackend {
  readonly url: string;
  /** Reads everything. Resources carry metadata.resourceVersion where the backend versions keys. */
  read(): Promise<{ resources: Resource[]; issues: ConfigIssue[] }>;
  /**
   * Runs `fn` on a fresh read and commits its puts and deletes atomically. A put or delete of a
   * resource that carries a resourceVersion succeeds only if the key is unchanged; a put without
   * one only if the key does not exist. On conflict the whole function runs again.
   */
  transact<T>(fn: (resources: Resource[]) => { puts: Resource[]; deletes: Resource[]; result: T }): Promise<T>;
  /** Calls onChange (possibly spuriously) whenever stored content may have changed. */
  watchRaw(onChange: () => void): Promise<() => Promise<void>>;
  registerLiveness(node: string, ttlSeconds: number): Promise<Liveness>;
  liveNodes(): Promise<string[]>;
  close(): Promise<void>;
}
