/**
 * Which interface holds a given local address: the device IPv6 routes with only a link-local
 * next hop (RFC 2545) are installed on, since a link-local gateway means nothing without one.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseIpv6 } from '../../proto/prefix.js';

const execFileP = promisify(execFile);

interface IpAddrEntry {
  readonly ifname?: string;
  readonly addr_info?: readonly { readonly local?: string }[];
}

/** Picks the interface whose addresses include `address` from `ip -json addr` output. */
export function deviceHoldingAddress(ipJson: string, address: string): string | undefined {
  const want = parseIpv6(address).join(',');
  const entries = JSON.parse(ipJson) as IpAddrEntry[];
  for (const e of entries) {
    for (const a of e.addr_info ?? []) {
      try {
        if (a.local && parseIpv6(a.local).join(',') === want) return e.ifname;
      } catch {
        /* an IPv4 address: not ours to compare */
      }
    }
  }
  return undefined;
}

/** Asks the kernel (this process' namespace) which interface holds `address`; undefined when none or on error. */
export async function findDeviceHolding(address: string | undefined): Promise<string | undefined> {
  if (!address) return undefined;
  try {
    const { stdout } = await execFileP('ip', ['-json', '-6', 'addr', 'show']);
    return deviceHoldingAddress(stdout, address);
  } catch {
    return undefined;
  }
}
