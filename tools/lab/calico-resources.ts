/**
 * The Calico v3 resources a lab's petrel hosts share: a BGPConfiguration, one Node per petrel
 * host (its addresses and AS), the topology's IPPools, and a global BGPPeer for each router host
 * marked `globalPeer` (two on a dual-stack router: one per family, each its own transport session,
 * as Calico peers bird and bird6). Rendered as one multi-document YAML file, what
 * `calicoctl get -o yaml` writes.
 */
import { stringify } from 'yaml';
import type { Host, Topology } from './topology.js';

type Resource = { apiVersion: 'projectcalico.org/v3'; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

const resource = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name },
  spec,
});

export function nodeResource(topo: Topology, host: Host): Resource {
  const bgp: Record<string, unknown> = { ipv4Address: host.interfaces[0]!.address };
  if (host.interfaces[0]!.address6 !== undefined) bgp.ipv6Address = host.interfaces[0]!.address6;
  if (host.asNumber !== topo.asNumber) bgp.asNumber = host.asNumber;
  return resource('Node', host.name, { bgp });
}

/** A global BGPPeer (no node selector: every petrel node peers with it). */
export function globalPeerResource(host: Host): Resource {
  return resource('BGPPeer', host.name, { peerIP: host.ip, asNumber: host.asNumber });
}

/** The IPv6 global BGPPeer of a dual-stack router, `<host>-v6`; undefined for an IPv4-only one. */
export function globalPeer6Resource(host: Host): Resource | undefined {
  return host.ip6 === undefined ? undefined : resource('BGPPeer', `${host.name}-v6`, { peerIP: host.ip6, asNumber: host.asNumber });
}

export function labResources(topo: Topology): Resource[] {
  const out: Resource[] = [
    resource('BGPConfiguration', 'default', {
      asNumber: topo.asNumber,
      nodeToNodeMeshEnabled: topo.nodeToNodeMesh,
      logSeverityScreen: 'Info',
    }),
  ];
  for (const h of topo.hosts) if (h.role === 'petrel') out.push(nodeResource(topo, h));
  for (const p of topo.pools) {
    out.push(
      resource('IPPool', p.name, {
        cidr: p.cidr,
        blockSize: p.blockSize,
        ipipMode: p.ipipMode,
        vxlanMode: p.vxlanMode,
        natOutgoing: p.natOutgoing,
        disabled: p.disabled,
        disableBGPExport: p.disableBGPExport,
        nodeSelector: 'all()',
      }),
    );
  }
  for (const h of topo.hosts) {
    if (!h.globalPeer || h.role === 'petrel' || h.role === 'host') continue;
    out.push(globalPeerResource(h));
    const v6 = globalPeer6Resource(h);
    if (v6) out.push(v6);
  }
  return out;
}

export function renderResources(resources: readonly Resource[]): string {
  return resources.map((r) => stringify(r)).join('---\n');
}
