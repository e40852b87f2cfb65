/**
 * Preloaded (`node --import`) into `petrel --sink mock` by the interop tests. The daemon offers no
 * command that dumps its MockSink, so this wraps MockSink.prototype.apply and, after every change,
 * writes the table (the sink's own JSON form) to $PT_E2E_MOCK_DUMP, atomically via a rename.
 * main.js imports the same module URL, so it gets the wrapped class.
 */
import { renameSync, writeFileSync } from 'node:fs';

const target = process.env.PT_E2E_MOCK_DUMP;
const { MockSink } = await import(new URL('../../dist/daemon/sink/mock.js', import.meta.url).href);
const apply = MockSink.prototype.apply;
MockSink.prototype.apply = async function applyAndDump(changes) {
  const result = await apply.call(this, changes);
  if (target) {
    writeFileSync(`${target}.tmp`, JSON.stringify(this));
    renameSync(`${target}.tmp`, target);
  }
  return result;
};
