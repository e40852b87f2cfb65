/**
 * A listen address the host does not have yet (an IPv6 node address still in duplicate address
 * detection, or one added just after the daemon starts) must not kill start-up: the daemon logs
 * that it is waiting, and listens as soon as the address appears.
 */
import { describe, expect, it } from 'vitest';
import { nsExec } from '../../tools/lab/netns.js';
import { labForFile } from '../support/lab-lifecycle.js';
import { MpLab } from './mp-lab.js';

const HOST = { name: 'late', v4: '10.89.0.11', v6: 'fd89::11' } as const;
const LATE = 'fd89::99';
const lab = new MpLab('late');
const yaml = `apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: late }
spec: { bgp: { ipv4Address: ${HOST.v4}/24, ipv6Address: ${HOST.v6}/64 } }
`;

labForFile({ up: () => lab.up([HOST], yaml), down: () => lab.down() }, { upTimeoutMs: 30_000, downTimeoutMs: 30_000 });

describe('listen address that appears after start', () => {
  it('waits for the address (logged), then listens on it', async () => {
    const starting = lab.startPetrel(HOST.name, ['--listen', `${HOST.v4}:179`, '--listen', `[${LATE}]:179`]);
    await lab.until('petrel to log that it waits for the listen address', async () => lab.host(HOST.name).proc?.tail(200).includes('listen address not on this host yet'));
    await nsExec(lab.host(HOST.name).ns, 'ip', ['addr', 'add', `${LATE}/128`, 'dev', 'lo', 'nodad']);
    await starting;
    expect(await lab.bgpListeners(HOST.name)).toEqual([`${HOST.v4}:179`, `[${LATE}]:179`].sort());
  });
});
