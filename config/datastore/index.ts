/** Opening a datastore from a URL: `file:/path` (a YAML file or a directory) or `etcd:http://host:2379`. */
import { DatastoreError } from '../errors.js';
import { parseEtcdUrl } from './etcd-url.js';
import { openFileStore } from './file.js';
import { createDatastore } from './store.js';
import type { Datastore, StoreBackend } from './types.js';

export const DEFAULT_DATASTORE = 'file:/etc/petrel/cluster.yaml';

/**
 * The datastore URL to use: an explicit one (--datastore), else PETREL_DATASTORE, else Calico's
 * DATASTORE_TYPE=etcdv3 with ETCD_ENDPOINTS, else the default file.
 */
export function resolveDatastoreUrl(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.PETREL_DATASTORE) return env.PETREL_DATASTORE;
  if (env.DATASTORE_TYPE === 'etcdv3' && env.ETCD_ENDPOINTS) return `etcd:${env.ETCD_ENDPOINTS}`;
  return DEFAULT_DATASTORE;
}

export function openDatastore(url: string): Datastore {
  if (url.startsWith('etcd:')) return createDatastore(lazyEtcdStore(url));
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new DatastoreError(`bad file datastore URL "${url}": expected file:/path/to/cluster.yaml or file:/path/to/dir/`);
    return createDatastore(openFileStore(path));
  }
  if (url.startsWith('/') || url.startsWith('.')) return createDatastore(openFileStore(url));
  throw new DatastoreError(`unknown datastore "${url}": use file:/path or etcd:http://host:2379`);
}

/**
 * The etcd backend, loaded on first use: the etcd client (gRPC, protobufjs) costs every process
 * ~0.3 s of CPU and ~20 MB at import, which nodes on the file datastore must not pay. A bad URL
 * still fails here, at once.
 */
function lazyEtcdStore(url: string): StoreBackend {
  parseEtcdUrl(url);
  let loaded: Promise<StoreBackend> | undefined;
  const backend = () => (loaded ??= import('./etcd.js').then((m) => m.openEtcdStore(url)));
  return {
    url,
    read: async () => (await backend()).read(),
    transact: async (fn) => (await backend()).transact(fn),
    watchRaw: async (onChange) => (await backend()).watchRaw(onChange),
    registerLiveness: async (node, ttlSeconds) => (await backend()).registerLiveness(node, ttlSeconds),
    liveNodes: async () => (await backend()).liveNodes(),
    // Never connected: nothing to close, and no reason to load the client now.
    close: async () => (loaded ? (await loaded).close() : undefined),
  };
}

export type { Datastore, WatchEvent, AllocateResult, ApplyResult, Liveness, StoreBackend } from './types.js';
