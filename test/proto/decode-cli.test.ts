import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeCapture, decodeHex, register } from '../../tools/ctl/decode.js';
import { encodeKeepalive, encodeNotification, encodeShutdownCommunication, toHex } from '../../proto/index.js';

const pcapPath = join(import.meta.dirname, '../../../shared/fixtures/bird2-wire/session.pcap');

async function run(args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const program = new Command('petrelctl').exitOverride();
  register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const before = process.exitCode;
  try {
    await program.parseAsync(['node', 'petrelctl', 'decode', ...args]);
  } finally {
    spy.mockRestore();
  }
  const exitCode = process.exitCode === undefined ? undefined : Number(process.exitCode);
  process.exitCode = before;
  return { out, exitCode };
}

afterEach(() => vi.restoreAllMocks());

describe('petrelctl decode', () => {
  it('decodes concatenated hex messages into JSON', async () => {
    const hex = toHex(encodeKeepalive()) + toHex(encodeNotification(6, 2, encodeShutdownCommunication('bye')));
    const { out, exitCode } = await run([hex]);
    expect(exitCode).toBeUndefined();
    const json = JSON.parse(out) as { message: Record<string, unknown> }[];
    expect(json.map((r) => r.message)).toEqual([
      { type: 'KEEPALIVE' },
      { type: 'NOTIFICATION', code: 6, subcode: 2, text: 'Administrative shutdown', data: '03627965', shutdownCommunication: 'bye' },
    ]);
  });

  it('reports a malformed message as an error record and a failing exit code', async () => {
    const { out, exitCode } = await run([`${'ff'.repeat(16)}001309`]);
    expect(exitCode).toBe(1);
    expect(JSON.parse(out)[0].error).toEqual({ code: 1, subcode: 3, handling: 'session-reset', message: 'Bad message type: type 9', data: '09' });
  });

  it('decodes every message of a capture with frame numbers and endpoints', async () => {
    const { out } = await run(['--pcap', pcapPath]);
    const json = JSON.parse(out) as { frame: number; src: string; message: { type: string; nlri?: string[] } }[];
    expect(json).toHaveLength(23);
    expect(json[0]).toMatchObject({ frame: 4, src: expect.stringMatching(/^10\.0\.1\.11:\d+$/), message: { type: 'OPEN' } });
    expect(json.find((r) => r.frame === 12)?.message).toMatchObject({ type: 'UPDATE', nlri: ['10.48.0.0/26'], attrs: { origin: 'IGP', nextHop: '10.0.1.12', localPref: 100 } });
  });

  it('prints readable lines with --text', async () => {
    const { out } = await run(['--pcap', pcapPath, '--text']);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(23);
    expect(lines.find((l) => l.startsWith('frame 32 '))).toMatch(/^frame 32 10\.0\.1\.12:179 > 10\.0\.1\.11:\d+: NOTIFICATION 6\/2 Administrative shutdown$/);
    expect(lines.find((l) => l.startsWith('frame 12'))).toMatch(/UPDATE origin IGP, as-path \[\], next-hop 10\.0\.1\.12, local-pref 100; announce 10\.48\.0\.0\/26$/);
  });

  it('exposes the decoders as functions', () => {
    expect(decodeHex(toHex(encodeKeepalive()))).toHaveLength(1);
    expect(decodeCapture(new Uint8Array(readFileSync(pcapPath))).filter((r) => r.error)).toEqual([]);
    expect(() => decodeHex(`${toHex(encodeKeepalive())}ffff`)).toThrow(/trailing bytes/);
  });
});
