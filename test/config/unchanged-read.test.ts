/**
 * The file datastore answers an unchanged store with the same read, and the datastore then with the
 * same snapshot: the daemon's first snapshot and its watch's first read (just after) are one piece of
 * work, not two (issue 10, mesh: every daemon of a starting mesh did it twice). Any change of the text
 * gives a new read and a new snapshot, and the watch reports it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatastore } from '../../config/index.js';
import { openFileStore } from '../../config/datastore/file.js';
import type { ClusterSnapshot } from '../../config/resources.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const doc = (name: string, ip: string) => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: ${name} }\nspec: { bgp: { ipv4Address: ${ip}/24 } }\n`;

function storeFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-unchanged-read-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, text);
  return file;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('an unchanged file datastore', () => {
  it('is read once: the same read while the text is the same, a new one after a change', async () => {
    const file = storeFile(doc('a', '10.0.0.1'));
    const backend = openFileStore(file);
    const first = await backend.read();
    expect(await backend.read()).toBe(first);
    writeFileSync(file, `${doc('a', '10.0.0.1')}---\n${doc('b', '10.0.0.2')}`);
    const second = await backend.read();
    expect(second).not.toBe(first);
    expect(second.resources.map((r) => r.metadata.name)).toEqual(['a', 'b']);
    expect(await backend.read()).toBe(second);
  });

  it("gives the watch's first event the snapshot already taken, and reports a later change", async () => {
    const file = storeFile(doc('a', '10.0.0.1'));
    const ds = openDatastore(`file:${file}`);
    cleanups.push(() => ds.close());
    const taken = await ds.snapshot();
    const events: ClusterSnapshot[] = [];
    const stop = await ds.watch((ev) => {
      if (ev.type === 'snapshot') events.push(ev.snapshot);
    });
    cleanups.push(stop);
    expect(events).toEqual([taken]);
    expect(events[0]).toBe(taken);
    writeFileSync(file, `${doc('a', '10.0.0.1')}---\n${doc('b', '10.0.0.2')}`);
    const changed = await until('the change', () => events[1]);
    expect(changed.nodes.map((n) => n.metadata.name)).toEqual(['a', 'b']);
    expect(await ds.snapshot()).toBe(changed);
  });
});
