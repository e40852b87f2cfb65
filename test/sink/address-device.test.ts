import { describe, expect, it } from 'vitest';
import { deviceHoldingAddress } from '../../daemon/sink/address-device.js';

const IP_JSON = JSON.stringify([
  { ifname: 'lo', addr_info: [{ local: '127.0.0.1' }, { local: '::1' }] },
  { ifname: 'eth0', addr_info: [{ local: '10.0.0.2' }, { local: 'fd81:0:0:0::11' }, { local: 'fe80::2' }] },
]);

describe('deviceHoldingAddress', () => {
  it('finds the interface holding an IPv6 address, whatever its text form', () => {
    expect(deviceHoldingAddress(IP_JSON, 'fd81::11')).toBe('eth0');
    expect(deviceHoldingAddress(IP_JSON, '::1')).toBe('lo');
  });
  it('answers undefined when no interface holds it', () => {
    expect(deviceHoldingAddress(IP_JSON, 'fd81::12')).toBeUndefined();
  });
});
