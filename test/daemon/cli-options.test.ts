import { describe, expect, it } from 'vitest';
import { parsePetrelArgs } from '../support/petrel-args.js';


describe('petrel command line', () => {
  it('uses Calico defaults: bird.ctl, kernel sink, tunl0 for IPIP pools, graceful restart on', async () => {
    const o = await parsePetrelArgs(['--node', 'n1']);
    expect(o.node).toBe('n1');
    expect(o.ctlSocket).toBe('/var/run/calico/bird.ctl');
    expect(o.sink).toBe('kernel');
    expect(o.ipipDevice).toBe('tunl0');
    expect(o.gracefulRestart).toBe(true);
  });

  it('takes the IPIP device, sink, listen address and socket from flags', async () => {
    const o = await parsePetrelArgs(['--node', 'n1', '--ipip-device', 'ipip0', '--sink', 'mock', '--listen', '127.0.0.2:1179', '--ctl-socket', '/tmp/x.ctl']);
    expect(o).toMatchObject({ ipipDevice: 'ipip0', sink: 'mock', listen: '127.0.0.2:1179', ctlSocket: '/tmp/x.ctl' });
  });

  it('refuses an unknown sink', async () => {
    await expect(parsePetrelArgs(['--node', 'n1', '--sink', 'netlink'])).rejects.toThrow(/sink/);
  });
});
