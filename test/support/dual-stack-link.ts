/** Two namespaces joined by a veth (eth0 on each side) with an IPv4 and an IPv6 address per side. */
import { addNamespace, addVethPair, nsExec } from '../../tools/lab/netns.js';

export interface LinkEnd {
  readonly ns: string;
  /** Addresses with their prefix length: `10.0.0.1/24`, `fd00::1/64`. */
  readonly v4: string;
  readonly v6: string;
}

/** An IPv6 address usable at once: nodad skips duplicate address detection (~1 s per address). */
export async function addAddress6(ns: string, cidr: string, dev = 'eth0'): Promise<void> {
  await nsExec(ns, 'ip', ['addr', 'add', cidr, 'dev', dev, 'nodad']);
}

/** Creates both namespaces and the link between them. */
export async function linkDualStack(a: LinkEnd, b: LinkEnd): Promise<void> {
  await addNamespace(a.ns);
  await addNamespace(b.ns);
  await addVethPair([a.ns, 'eth0', a.v4], [b.ns, 'eth0', b.v4]);
  await addAddress6(a.ns, a.v6);
  await addAddress6(b.ns, b.v6);
}
