/**
 * Documents that are one line of compact JSON each (etcd values, generated datastore files) are read
 * with JSON.parse instead of the YAML parser; the result must be exactly what the YAML parser gives.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../config/index.js';

const doc = (kind: string, name: string, spec: Record<string, unknown>) => JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });
const CLUSTER = [
  doc('BGPConfiguration', 'default', { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Warning' }),
  doc('IPPool', 'pool', { cidr: '10.48.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }),
  doc('Node', 'node-a', { bgp: { ipv4Address: '10.201.0.2/16' } }),
  doc('BGPPeer', 'rr', { peerIP: '10.201.0.9', asNumber: '64513', keepOriginalNextHop: true }),
  doc('BlockAffinity', 'node-a-10-48-0-0-26', { state: 'confirmed', node: 'node-a', cidr: '10.48.0.0/26' }),
];

/** The same documents the YAML parser must read: a space after each colon is not compact JSON. */
const viaYaml = (text: string) => text.replace(/":/g, '": ');

const yamlLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/yaml/'));

describe('compact JSON documents', () => {
  it('a cluster of JSON lines parses as the YAML parser reads it, and never loads the YAML parser', () => {
    const text = `${CLUSTER.join('\n---\n')}\n`;
    const fast = parseResources(text, 'c.yaml');
    expect(yamlLoaded()).toBe(false);
    expect(fast.errors).toEqual([]);
    expect(fast.resources.map((r) => r.kind)).toEqual(['BGPConfiguration', 'IPPool', 'Node', 'BGPPeer', 'BlockAffinity']);
    // AS numbers are normalised on both paths; lines and field lines too.
    expect(fast).toEqual(parseResources(viaYaml(text), 'c.yaml'));
    expect(fast.resources[3]?.origin?.line).toBe(7);
    expect(fast.resources[3]?.origin?.fieldLines['spec.peerIP']).toBe(7);
  });

  it('issues name the same file, line and field on both paths', () => {
    const text = [doc('BGPPeer', 'bad', { peerIP: 'not-an-ip', asNumber: 64512, colour: 'blue' }), '---', doc('Widget', 'w', {}), '---', '[1,2]'].join('\n');
    const fast = parseResources(text, 'bad.yaml');
    expect(fast.errors.length).toBeGreaterThanOrEqual(3);
    expect(fast.errors.find((e) => e.field === 'spec.colour')).toMatchObject({ file: 'bad.yaml', line: 1, kind: 'BGPPeer', name: 'bad' });
    expect(fast.errors.find((e) => e.kind === 'Widget')?.line).toBe(3);
    expect(fast.errors.find((e) => e.message === 'a resource must be a YAML mapping')?.line).toBe(5);
    expect(fast).toEqual(parseResources(viaYaml(text), 'bad.yaml'));
  });

  it('a duplicate key, or two JSON lines in one document, goes to the YAML parser and is reported', () => {
    const dup = '{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.1.0.0/16","cidr":"10.2.0.0/16"}}';
    const r = parseResources(dup, 'dup.yaml');
    expect(r.errors.map((e) => e.message)).toContain('duplicate key "cidr"');
    const two = parseResources(`${CLUSTER[0]}\n${CLUSTER[1]}\n`, 'two.yaml');
    expect(two.errors.length).toBeGreaterThan(0);
    expect(two.resources).toEqual([]);
  });

  it('calicoctl lists, odd keys and escapes agree with the YAML parser (property)', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json, { maxKeys: 4 }), fc.string(), (spec, name) => {
        const list = JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'List', items: [{ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec }] });
        const text = `${CLUSTER[0]}\n---\n${list}\n`;
        // A flow mapping with a space after each ':' inside keys or strings would change them: compare with block-free YAML of the same value.
        expect(parseResources(text, 'p.yaml')).toEqual(parseResources(`${CLUSTER[0]}\n---\n${JSON.stringify(JSON.parse(list), null, 1).replace(/\n\s*/g, ' ')}\n`, 'p.yaml'));
      }),
      { numRuns: 200 },
    );
  });
});
