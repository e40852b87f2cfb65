/**
 * node:crypto, loaded on first use. Loading it is ~25 internal modules (about 1 ms of CPU) at every
 * daemon start, and a daemon only needs it to write the file datastore, take its lock, or hash a
 * router id (CALICO_ROUTER_ID=hash): thirty daemons starting on two cores pay it thirty times.
 */
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
let crypto: Crypto | undefined;

export function nodeCrypto(): Crypto {
  return (crypto ??= createRequire(import.meta.url)('node:crypto') as Crypto);
}
