/**
 * Command handling without a socket: BIRD 2.0.12's answers to malformed and less common commands
 * (texts taken from a real bird 2.0.12 run on this machine), and the bird1 (Calico BIRD 1.6 fork)
 * layouts calicoctl and calico-node parse.
 */
import { describe, expect, it } from 'vitest';
import { execute, patternMatches, type CommandContext } from '../../daemon/control/commands.js';
import { LineFramer, type Dialect } from '../../daemon/control/framing.js';
import { at, bastionState, FakeBackend, nodeState, type FakeState } from './fake-backend.js';

async function reply(cmd: string, opts: { dialect?: Dialect; state?: FakeState; backend?: FakeBackend; families?: (4 | 6)[] } = {}): Promise<string> {
  const dialect = opts.dialect ?? 'bird2';
  const backend = opts.backend ?? new FakeBackend(opts.state ?? nodeState());
  const ctx: CommandContext = { backend, dialect, families: opts.families ?? (dialect === 'bird1' ? [4] : [4, 6]), now: () => at('01:45:00.724') };
  const framer = new LineFramer(dialect);
  let out = '';
  for (const l of await execute(cmd, ctx, { restricted: false }).lines) out += framer.frame(l);
  return out;
}

describe('bird2: answers as BIRD 2.0.12 does', () => {
  const cases: [string, string][] = [
    ['disable', '9001 syntax error, unexpected END, expecting CF_SYM_KNOWN or TEXT or ALL\n'],
    ['enable', '9001 syntax error, unexpected END, expecting CF_SYM_KNOWN or TEXT or ALL\n'],
    ['reload', '9001 syntax error, unexpected END\n'],
    ['reload in', '9001 syntax error, unexpected END, expecting CF_SYM_KNOWN or TEXT or ALL\n'],
    ['show', '9001 syntax error, unexpected END\n'],
    ['show interfaces bogus', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END or SUMMARY\n'],
    ['show interfaces summary x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END\n'],
    ['show status x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END\n'],
    ['show memory x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END\n'],
    ['down x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END\n'],
    ['show route protocol', '9001 syntax error, unexpected END, expecting CF_SYM_KNOWN\n'],
    ['show route protocol bogus', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting CF_SYM_KNOWN\n'],
    ['show route protocol master4', '9001 Protocol name required\n'],
    ['show route table', '9001 syntax error, unexpected END, expecting CF_SYM_KNOWN or ALL\n'],
    ['show route table bogus', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting CF_SYM_KNOWN or ALL\n'],
    ['show route table static1', '9001 Table name required\n'],
    ['show route for 999.1.1.1', '9001 Invalid IPv4 address 999.1.1.1\n'],
    ['show route for 10.48.0.1/33', '9001 Invalid prefix length 33\n'],
    ['show route for calico_export_to_bgp_peers', '9001 IP address or network constant expected\n'],
    ['show route 10.48.0.1', "9001 syntax error, unexpected END, expecting '/'\n"],
    ['show route bogus', '9001 syntax error, unexpected CF_SYM_UNDEFINED\n'],
    ['configure check x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END or TEXT\n'],
    ['configure bogus', '9001 syntax error, unexpected CF_SYM_UNDEFINED\n'],
    ['configure confirm', '0019 Nothing to do\n'],
    ['enable master4', '9001 Protocol name required\n'],
    ['show protocols all bogus', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END or CF_SYM_KNOWN or TEXT\n'],
    ['show protocols route', '9001 syntax error, unexpected ROUTE, expecting END or CF_SYM_KNOWN or TEXT or ALL\n'],
    ['show protocols Global_10_0_1_11 x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END\n'],
    ['disable Global_10_0_1_11 x', '9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END or TEXT\n'],
    ['restart "zz*"', '8003 No protocols match\n'],
    ['show route for 2001:db8::1', '8001 Network not found\n'],
    ['show route for 10.48.0.0/26', '1007-Table master4:\n 10.48.0.0/26         blackhole [static1 01:44:53.413] * (200)\n0000 \n'],
    ['show route 10.48.0.0/26', '1007-Table master4:\n 10.48.0.0/26         blackhole [static1 01:44:53.413] * (200)\n0000 \n'],
    ['show route all for 10.48.0.1', '1007-Table master4:\n 10.48.0.0/26         blackhole [static1 01:44:53.413] * (200)\n1008-\tType: static univ\n0000 \n'],
    // BIRD counts every route of the protocol's table and shows those of the protocol.
    ['show route count protocol static1', '1007-1 of 2 routes for 2 networks in table master4\n0000 \n'],
    ['show route protocol Global_10_0_1_11 count', '1007-0 of 2 routes for 2 networks in table master4\n0000 \n'],
    ['show route protocol Global_10_0_1_11', '0000 \n'],
    ['show route table all count', '1007-2 of 2 routes for 2 networks in table master4\n 0 of 0 routes for 0 networks in table master6\n0014 Total: 2 of 2 routes for 2 networks in 2 tables\n'],
  ];
  for (const [cmd, expected] of cases) {
    it(cmd, async () => { expect(await reply(cmd)).toBe(expected); });
  }

  it('enable all answers per protocol, continuation lines sharing a code', async () => {
    const s = nodeState();
    s.peers[0] = { ...s.peers[0]!, disabled: true, protoState: 'down' };
    expect(await reply('enable all', { state: s })).toBe(
      '0010-static1: already enabled\n kernel1: already enabled\n device1: already enabled\n direct1: already enabled\n0011-Global_10_0_1_11: enabled\n0000 \n');
  });

  it('a failed configure reports 8002 with the backend error', async () => {
    const s = nodeState();
    s.configure = { ok: false, source: 'etcd:http://127.0.0.1:2379', error: 'BGPPeer bastion: peerIP is not an IP address' };
    expect(await reply('configure', { state: s })).toBe('0002-Reading configuration from etcd:http://127.0.0.1:2379\n8002 BGPPeer bastion: peerIP is not an IP address\n');
  });

  it('shows BGP route suffixes: AS path origin, IGP metric, from, multipath, communities', async () => {
    const s = bastionState();
    s.routes = [
      {
        prefix: '10.50.0.0/24', dest: 'unicast', protocol: 'node_h2', since: at('01:44:55.337'), primary: true, preference: 100, source: 'BGP',
        igpMetric: 0, from: '10.0.1.1',
        nextHops: [{ gateway: '10.0.1.12', dev: 'eth0', weight: 1 }, { gateway: '10.0.1.13', dev: 'eth0', weight: 1 }],
        bgp: { origin: 'Incomplete', asPath: [65001, 65002], nextHop: '10.0.1.12', med: 0, communities: [[65000, 100]], clusterList: ['10.0.1.1'], originatorId: '10.0.1.9' },
      },
      {
        prefix: '10.50.0.0/24', dest: 'unicast', protocol: 'lab_range', since: at('01:44:56'), primary: false, preference: 100, source: 'BGP',
        nextHops: [{ gateway: '10.0.1.14', dev: 'eth0' }], bgp: { origin: 'IGP', asPath: [65003], nextHop: '10.0.1.14' },
      },
    ];
    expect(await reply('show route all', { state: s })).toBe([
      '1007-Table master4:',
      ' 10.50.0.0/24         unicast [node_h2 01:44:55.337 from 10.0.1.1] * (100/0) [AS65002?]',
      ' \tvia 10.0.1.12 on eth0 weight 1',
      ' \tvia 10.0.1.13 on eth0 weight 1',
      '1008-\tType: BGP univ',
      '1012-\tBGP.origin: Incomplete',
      ' \tBGP.as_path: 65001 65002',
      ' \tBGP.next_hop: 10.0.1.12',
      ' \tBGP.med: 0',
      ' \tBGP.community: (65000,100)',
      ' \tBGP.originator_id: 10.0.1.9',
      ' \tBGP.cluster_list: 10.0.1.1',
      '1007-                     unicast [lab_range 01:44:56.000] (100) [AS65003i]',
      ' \tvia 10.0.1.14 on eth0',
      '1008-\tType: BGP univ',
      '1012-\tBGP.origin: IGP',
      ' \tBGP.as_path: 65003',
      ' \tBGP.next_hop: 10.0.1.14',
      '0000 ',
      '',
    ].join('\n'));
  });

  it('prints dates instead of times for changes more than 20 hours ago', async () => {
    const s = nodeState();
    s.peers[0] = { ...s.peers[0]!, since: new Date(2026, 10, 21, 3, 0, 0) };
    expect(await reply('show protocols Global_10_0_1_11', { state: s })).toContain(' up     2026-11-21    Established');
  });

  it('show interfaces defaults to the host interfaces when the backend has none', async () => {
    const backend = new FakeBackend(nodeState());
    (backend as { interfaces?: unknown }).interfaces = undefined;
    const out = await reply('show interfaces', { backend });
    expect(out).toMatch(/^1001-lo up \(index=1\)\n1004-\tMultiAccess AdminUp LinkUp Loopback Ignored MTU=65536\n1003-\t127\.0\.0\.1\/8 \(Preferred, scope host\)\n/);
    expect(out.endsWith('0000 \n')).toBe(true);
  });

  it('matches quoted patterns with * and ?', () => {
    expect(patternMatches('Mesh_*', 'Mesh_10_0_1_20')).toBe(true);
    expect(patternMatches('Mesh_10_0_1_2?', 'Mesh_10_0_1_20')).toBe(true);
    expect(patternMatches('Mesh_10_0_1_2?', 'Mesh_10_0_1_200')).toBe(false);
    expect(patternMatches('*.x', 'ab.x')).toBe(true);
    expect(patternMatches('*.x', 'abx')).toBe(false);
  });
});

describe('bird1: the Calico BIRD 1.6 fork layout', () => {
  const meshNode = () => {
    const s = nodeState();
    s.peers = [
      { ...s.peers[0]!, name: 'Mesh_10_0_1_20', kind: 'mesh', peerIp: '10.0.1.20' },
      { ...s.peers[0]!, name: 'Mesh_fd80__20', kind: 'mesh', peerIp: 'fd80::20' },
    ];
    return s;
  };

  it('show protocols: lower-case heading, 1.6 columns, the family of the socket only', async () => {
    expect(await reply('show protocols', { dialect: 'bird1', state: meshNode() })).toBe([
      '2002-name     proto    table    state  since       info',
      '1002-static1  Static   master   up     01:44:53    ',
      ' kernel1  Kernel   master   up     01:44:53    ',
      ' device1  Device   master   up     01:44:53    ',
      ' direct1  Direct   master   up     01:44:53    ',
      ' Mesh_10_0_1_20 BGP      master   up     01:44:55    Established   ',
      '0000 ',
      '',
    ].join('\n'));
    expect(await reply('show protocols "Mesh*"', { dialect: 'bird1', state: meshNode(), families: [6] }))
      .toBe('2002-name     proto    table    state  since       info\n1002-Mesh_fd80__20 BGP      master   up     01:44:55    Established   \n0000 \n');
  });

  it('show protocols all <peer>: basic info first, Neighbor caps on one line, integer timers', async () => {
    expect(await reply('show protocols all Global_10_0_1_11', { dialect: 'bird1' })).toBe([
      '2002-name     proto    table    state  since       info',
      '1002-Global_10_0_1_11 BGP      master   up     01:44:55    Established   ',
      '1006-  Description:    Connection to BGP peer',
      '   Preference:     100',
      '   Input filter:   ACCEPT',
      '   Output filter:  calico_export_to_bgp_peers',
      '   Routes:         0 imported, 1 exported, 0 preferred',
      '   Route change stats:     received   rejected   filtered    ignored   accepted',
      '     Import updates:              0          0          0          0          0',
      '     Import withdraws:            0          0        ---          0          0',
      '     Export updates:              2          0          1        ---          1',
      '     Export withdraws:            0        ---        ---        ---          0',
      '   BGP state:          Established',
      '     Neighbor address: 10.0.1.11',
      '     Neighbor AS:      64512',
      '     Neighbor ID:      10.0.1.11',
      '     Neighbor caps:    refresh enhanced-refresh restart-aware AS4',
      '     Session:          internal multihop AS4',
      '     Source address:   10.0.1.12',
      '     Hold timer:       203/240',
      '     Keepalive timer:  72/80',
      ' ',
      '0000 ',
      '',
    ].join('\n'));
  });

  it('show status: BIRD v0.3.3+birdv1.6.8, no Hostname line, seconds only', async () => {
    expect(await reply('show status', { dialect: 'bird1' })).toBe([
      '1000-BIRD v0.3.3+birdv1.6.8',
      '1011-Router ID is 10.0.1.12',
      ' Current server time is 2026-11-22 01:45:00',
      ' Last reboot on 2026-11-22 01:44:53',
      ' Last reconfiguration on 2026-11-22 01:44:53',
      '0013 Daemon is up and running',
      '',
    ].join('\n'));
  });

  it('show route: one line per route; count and not-found as 1.6 words them', async () => {
    const s = nodeState();
    s.routes.push({
      prefix: '10.48.1.0/26', dest: 'unicast', nextHops: [{ gateway: '10.0.1.11', dev: 'eth0' }], protocol: 'Global_10_0_1_11',
      since: at('01:44:55.337'), primary: true, preference: 100, source: 'BGP', igpMetric: 0, bgp: { origin: 'IGP', asPath: [], nextHop: '10.0.1.11', localPref: 100 },
    });
    expect(await reply('show route', { dialect: 'bird1', state: s })).toBe([
      '1007-10.0.1.0/24        dev eth0 [direct1 01:44:53] * (240)',
      ' 10.48.0.0/26       blackhole [static1 01:44:53] * (200)',
      ' 10.48.1.0/26       via 10.0.1.11 on eth0 [Global_10_0_1_11 01:44:55] * (100/0) [i]',
      '0000 ',
      '',
    ].join('\n'));
    expect(await reply('show route all for 10.48.1.1', { dialect: 'bird1', state: s })).toBe([
      '1007-10.48.1.0/26       via 10.0.1.11 on eth0 [Global_10_0_1_11 01:44:55] * (100/0) [i]',
      '1008-\tType: BGP unicast univ',
      '1012-\tBGP.origin: IGP',
      ' \tBGP.as_path: ',
      ' \tBGP.next_hop: 10.0.1.11',
      ' \tBGP.local_pref: 100',
      '0000 ',
      '',
    ].join('\n'));
    expect(await reply('show route count', { dialect: 'bird1', state: s })).toBe('0014 3 of 3 routes for 3 networks\n');
    expect(await reply('show route for 192.0.2.1', { dialect: 'bird1', state: s })).toBe('8001 Network not in table\n');
  });

  it('errors: plain syntax error; an unknown name is "not a protocol" (9002)', async () => {
    expect(await reply('frobnicate', { dialect: 'bird1' })).toBe('9001 syntax error\n');
    expect(await reply('show protocols nonexistent', { dialect: 'bird1' })).toBe('9002 nonexistent is not a protocol\n');
  });

  it('show memory in 1.6 units', async () => {
    const s = bastionState();
    expect(await reply('show memory', { dialect: 'bird1', state: s })).toBe([
      '1018-BIRD memory usage',
      ' Routing tables:     29 kB',
      ' Route attributes:   10 kB',
      ' Protocols:          16 kB',
      ' Total:             155 kB',
      '0000 ',
      '',
    ].join('\n'));
  });
});
