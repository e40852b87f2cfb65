/**
 * Every reproducible fixture of shared/fixtures/bird2-ctl, byte for byte: a ControlServer in the
 * bird2 dialect over a fake backend holding the lab's state, queried through its socket.
 * Times are pinned (the backend's dates and the server clock are the capture's local times), so
 * no normalisation is needed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdClient } from '../../daemon/control/client.js';
import { ControlServer } from '../../daemon/control/index.js';
import type { BgpProtocolView } from '../../daemon/control/backend.js';
import { at, bastionState, FakeBackend, nodeSessionState, nodeState, type FakeState } from './fake-backend.js';

const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/bird2-ctl');
const fixture = (rel: string) => readFileSync(path.join(FIXTURES, rel), 'latin1');

interface ManifestEntry { file: string; sent: string }
const manifest = (dir: string): ManifestEntry[] =>
  (JSON.parse(fixture(path.join(dir, 'manifest.json'))) as { commands: ManifestEntry[] }).commands;

/** Fixtures Petrel cannot reproduce, and why. */
const NOT_REPRODUCIBLE: Record<string, string> = {
  'restrict.txt': 'covered by the restrict sequence test below',
  'restricted-configure.txt': 'covered by the restrict sequence test below',
  'node/show-route-export-Global_10_0_1_11.txt': 'export/noexport views need the export filter: not implemented',
  'node/show-route-noexport-Global_10_0_1_11.txt': 'export/noexport views need the export filter: not implemented',
};

let dir: string;
let server: ControlServer;
const backend = new FakeBackend(bastionState());
let clock = at('01:45:00.724');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pt-ctl-fixtures-'));
  server = await ControlServer.start({ path: path.join(dir, 'bird.ctl'), backend, dialect: 'bird2', now: () => clock });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(state: FakeState, now: Date, command: string): Promise<string> {
  backend.state = state;
  clock = now;
  const c = await BirdClient.connect(server.path);
  try {
    return (await c.command(command)).raw;
  } finally {
    c.close();
  }
}

describe('bird2 dialect reproduces BIRD 2.0.12 byte for byte', () => {
  it('greets like BIRD 2.0.12', async () => {
    const c = await BirdClient.connect(server.path);
    expect(c.greeting.raw + '\n').toBe(fixture('greeting.txt'));
    c.close();
  });

  describe('bastion (top-level fixtures)', () => {
    for (const { file, sent } of manifest('.')) {
      if (NOT_REPRODUCIBLE[file]) continue;
      it(`${sent.trim() || '(empty line)'} -> ${file}`, async () => {
        const state = bastionState();
        expect(await ask(state, at('01:45:00.724'), sent.replace(/\n$/, ''))).toBe(fixture(file));
      });
    }

    it('restrict, then configure on the same connection -> 8007', async () => {
      backend.state = bastionState();
      const c = await BirdClient.connect(server.path);
      expect((await c.command('restrict')).raw).toBe(fixture('restrict.txt'));
      expect((await c.command('configure')).raw).toBe(fixture('restricted-configure.txt'));
      expect(backend.calls).not.toContain('configure');
      c.close();
    });
  });

  describe('Calico-style node (node/ fixtures)', () => {
    for (const { file, sent } of manifest('node')) {
      const rel = `node/${file}`;
      if (NOT_REPRODUCIBLE[rel]) continue;
      it(`${sent.trim()} -> ${rel}`, async () => {
        const state = nodeState();
        // The two `show protocols all` captures were taken a millisecond apart.
        if (file === 'show-protocols-all.txt') state.peers = [{ ...state.peers[0]!, holdTimerLeft: 203.227 }];
        state.memory = {
          routingTables: { effective: 19866, overhead: 9376 }, routeAttributes: { effective: 1184, overhead: 9016 },
          protocols: { effective: 24474, overhead: 7072 }, currentConfig: { effective: 16384, overhead: 480 },
          standby: { effective: 0, overhead: 61440 }, total: { effective: 85299, overhead: 89293 },
        };
        expect(await ask(state, at('01:45:00.910'), sent.replace(/\n$/, ''))).toBe(fixture(rel));
      });
    }
  });

  describe('BGP session states (states/ fixtures)', () => {
    const err = (errorClass: NonNullable<BgpProtocolView['lastError']>['errorClass'], message: string) => ({ lastError: { errorClass, message } });
    const down = { counters: undefined as never };
    void down;
    const states: [string, string, Partial<BgpProtocolView>][] = [
      ['01-peer-down-start-Active', '01:42:06.215', { protoState: 'start', bgpState: 'Active', since: at('01:42:06.215'), connectDelay: { left: 1.833, total: 2 } }],
      ['02-peer-down-start-Active-Socket-Connection-refused', '01:42:06.215', { protoState: 'start', bgpState: 'Active', since: at('01:42:06.215'), connectDelay: { left: 1.729, total: 2 }, ...err('Socket', 'Connection refused') }],
      ['03-peer-unreachable-start-Connect', '01:42:22.296', { protoState: 'start', bgpState: 'Connect', since: at('01:42:22.296') }],
      ['04-peer-unreachable-start-Active-Socket-No-route-to-host', '01:42:22.296', { protoState: 'start', bgpState: 'Active', since: at('01:42:22.296'), connectDelay: { left: 1.962, total: 2 }, ...err('Socket', 'No route to host') }],
      ['05-peer-unreachable-start-Connect-Socket-No-route-to-host', '01:42:22.296', { protoState: 'start', bgpState: 'Connect', since: at('01:42:22.296'), ...err('Socket', 'No route to host') }],
      ['06-silent-peer-start-OpenSent', '01:42:52.232', { protoState: 'start', bgpState: 'OpenSent', since: at('01:42:52.232') }],
      ['07-silent-peer-start-Active-Socket-Connection-closed', '01:42:52.232', { protoState: 'start', bgpState: 'Active', since: at('01:42:52.232'), connectDelay: { left: 1.746, total: 2 }, ...err('Socket', 'Connection closed') }],
      ['08-open-no-keepalive-start-OpenConfirm', '01:43:01.235', { protoState: 'start', bgpState: 'OpenConfirm', since: at('01:43:01.235') }],
      ['09-open-no-keepalive-start-Idle-BGP-Error-Hold-timer-expired', '01:43:01.235', { protoState: 'start', bgpState: 'Idle', since: at('01:43:05.491'), errorWait: { left: 3.757, total: 5 }, ...err('BGP Error', 'Hold timer expired') }],
      ['10-bad-peer-as-start-Idle-BGP-Error-Bad-peer-AS', '01:43:09.210', { protoState: 'start', bgpState: 'Idle', since: at('01:43:11.144'), errorWait: { left: 3.954, total: 5 }, ...err('BGP Error', 'Bad peer AS') }],
      ['11-peer-cease-up-Established', '01:43:15.261', { since: at('01:43:17.183'), holdTimerLeft: 238.873, keepaliveTimerLeft: 78.251, peerCaps: { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: false, as4: true, llgr: false, extendedMessage: false } }],
      ['12-peer-cease-start-Active-Received-Administrative-shutdown', '01:43:15.261', { protoState: 'start', bgpState: 'Active', since: at('01:43:19.183'), connectDelay: { left: 1.627, total: 2 }, ...err('Received', 'Administrative shutdown') }],
      ['13-disabled-down-empty', '01:43:23.314', { protoState: 'down', bgpState: 'Down', disabled: true, since: at('01:43:25.164'), ...err('Received', 'Administrative shutdown') }],
      ['14-disabled-with-message-down', '01:43:23.314', { protoState: 'down', bgpState: 'Down', disabled: true, message: 'maintenance window', since: at('01:43:31.738') }],
    ];
    for (const [prefix, systemSince, peer] of states) {
      it(`${prefix}: show protocols`, async () => {
        expect(await ask(nodeSessionState(systemSince, peer), at('01:44:00'), 'show protocols')).toBe(fixture(`states/${prefix}.show-protocols.txt`));
      });
      it(`${prefix}: show protocols all Global_10_0_1_11`, async () => {
        expect(await ask(nodeSessionState(systemSince, peer), at('01:44:00'), 'show protocols all Global_10_0_1_11'))
          .toBe(fixture(`states/${prefix}.show-protocols-all.txt`));
      });
    }
  });

  describe('admin commands (states/*-cmd-*)', () => {
    const cases: [string, string, (s: FakeState) => void][] = [
      ['node-cmd-disable.txt', 'disable Global_10_0_1_11', () => {}],
      ['node-cmd-disable-again.txt', 'disable Global_10_0_1_11', (s) => { s.peers[0] = { ...s.peers[0]!, disabled: true, protoState: 'down' }; }],
      ['node-cmd-disable-with-message.txt', 'disable Global_10_0_1_11 "maintenance window"', () => {}],
      ['node-cmd-enable.txt', 'enable Global_10_0_1_11', (s) => { s.peers[0] = { ...s.peers[0]!, disabled: true, protoState: 'down' }; }],
      ['node-cmd-enable-after-message.txt', 'enable Global_10_0_1_11', (s) => { s.peers[0] = { ...s.peers[0]!, disabled: true, protoState: 'down', message: 'maintenance window' }; }],
      ['node-cmd-restart.txt', 'restart Global_10_0_1_11', () => {}],
    ];
    for (const [file, cmd, prepare] of cases) {
      it(`${cmd} -> ${file}`, async () => {
        const s = nodeState();
        prepare(s);
        expect(await ask(s, at('01:45:00'), cmd)).toBe(fixture(`states/${file}`));
      });
    }
    it('disable with a message reaches the backend and shows as Message:', async () => {
      const s = nodeState();
      await ask(s, at('01:45:00'), 'disable Global_10_0_1_11 "maintenance window"');
      expect(backend.calls).toContain('disable Global_10_0_1_11 "maintenance window"');
      expect(await ask(s, at('01:45:00'), 'show protocols all Global_10_0_1_11')).toContain('\n   Message:        maintenance window\n');
    });
    it('enable node_h2 on the bastion -> bastion-cmd-enable-already.txt', async () => {
      expect(await ask(bastionState(), at('01:45:00'), 'enable node_h2')).toBe(fixture('states/bastion-cmd-enable-already.txt'));
    });
    it('reload in/out node_h2 -> bastion-cmd-reload-*.txt', async () => {
      expect(await ask(bastionState(), at('01:45:00'), 'reload in node_h2')).toBe(fixture('states/bastion-cmd-reload-in.txt'));
      expect(await ask(bastionState(), at('01:45:00'), 'reload out node_h2')).toBe(fixture('states/bastion-cmd-reload-out.txt'));
      expect(backend.calls).toEqual(expect.arrayContaining(['reload in node_h2', 'reload out node_h2']));
    });
  });

  describe('bastion views of the node (states/bastion-view-*)', () => {
    const peerView = (over: Partial<BgpProtocolView>) => {
      const s = bastionState();
      s.system = s.system!.map((p) => ({ ...p, since: at('01:43:23.437') }));
      s.peers = [{ ...s.peers[0]!, ...over }, { ...s.peers[1]!, since: at('01:43:23.437') }];
      return s;
    };
    const refusedByAdmin = { protoState: 'start', bgpState: 'Active', lastError: { errorClass: 'Received', message: 'Administrative shutdown' } } as const;
    const views: [string, Partial<BgpProtocolView>][] = [
      ['bastion-view-peer-disabled', { ...refusedByAdmin, since: at('01:43:25.164'), connectDelay: { left: 1.719, total: 5 } }],
      ['bastion-view-peer-disabled-with-message', { ...refusedByAdmin, since: at('01:43:31.739'), connectDelay: { left: 2.984, total: 5 }, message: 'maintenance window' }],
      ['bastion-view-node-stopped', {
        protoState: 'start', bgpState: 'Active', since: at('01:43:35.081'), message: 'maintenance window', connectDelay: { left: 2.416, total: 5 },
        neighborGracefulRestartActive: true, restartTimerLeft: 117.861, lastError: { errorClass: 'Socket', message: 'Connection reset by peer' },
        channels: [{
          name: 'ipv4', state: 'START', table: 'master4', preference: 100, inputFilter: 'ACCEPT', outputFilter: 'REJECT', neighborGr: 'Regular',
          counters: { ...bastionState().peers[0]!.counters, importUpdates: { received: 2, rejected: 0, filtered: 0, ignored: 1, accepted: 1 }, exportUpdates: { received: 2, rejected: 2, filtered: 0, accepted: 0 } },
        }],
      }],
    ];
    for (const [prefix, over] of views) {
      it(`${prefix}: show protocols and show protocols all node_h2`, async () => {
        expect(await ask(peerView(over), at('01:44:00'), 'show protocols')).toBe(fixture(`states/${prefix}.show-protocols.txt`));
        expect(await ask(peerView(over), at('01:44:00'), 'show protocols all node_h2')).toBe(fixture(`states/${prefix}.show-protocols-all-node_h2.txt`));
      });
    }
  });

  it('down -> states/node-cmd-down.txt, then the connection closes and the backend shuts down', async () => {
    backend.state = nodeState();
    const c = await BirdClient.connect(server.path);
    expect((await c.command('down')).raw).toBe(fixture('states/node-cmd-down.txt'));
    await expect(c.readReply(5000)).rejects.toThrow(/closed/);
    expect(backend.shutdownCalled).toBe(true);
  });
});
