/**
 * The etcd client (gRPC, protobufjs) is loaded only when an etcd datastore is used: a node on the
 * file datastore must not pay its import (~0.3 s of CPU, ~20 MB) at every start.
 */
import { createRequire } from 'node:module';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatastoreError, openDatastore } from '../../config/index.js';
import { tempDir } from './helpers.js';

const loadedEtcdModules = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/etcd3/'));

describe('etcd client loading', () => {
  it('a file datastore and a bad etcd URL never load it; the first etcd operation does', async () => {
    const dir = await tempDir('lazy');
    try {
      const file = join(dir, 'cluster.yaml');
      await writeFile(file, '{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},"spec":{"asNumber":64512}}\n');
      const ds = openDatastore(`file:${file}`);
      expect((await ds.snapshot()).bgpConfigurations.length).toBe(1);
      await ds.close();
      // A malformed URL still fails at once, without the client.
      expect(() => openDatastore('etcd:ftp://nowhere')).toThrow(DatastoreError);
      // Opening and closing an etcd datastore that was never used loads nothing either.
      await openDatastore('etcd:http://127.0.0.1:9').close();
      expect(loadedEtcdModules()).toEqual([]);

      // The first real operation loads it (and fails: nothing listens on port 9).
      const etcd = openDatastore('etcd:http://127.0.0.1:9');
      await expect(etcd.liveNodes()).rejects.toThrow();
      expect(loadedEtcdModules().length).toBeGreaterThan(0);
      await etcd.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
