/** etcd datastore URLs, parsed without loading the etcd client (its import costs ~0.3 s of CPU and ~20 MB). */
import { DatastoreError } from '../errors.js';

export interface EtcdLocation {
  readonly endpoints: string[];
  readonly prefix: string;
}

/** `etcd:http://h:2379[,http://h2:2379][?prefix=/x]` → endpoints and key prefix. */
export function parseEtcdUrl(url: string): EtcdLocation {
  const rest = url.replace(/^etcd:/, '');
  const q = rest.indexOf('?');
  const hosts = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const endpoints = hosts.split(',').filter(Boolean);
  if (endpoints.length === 0 || !endpoints.every((e) => /^https?:\/\/[^/]+\/?$/.test(e))) throw new DatastoreError(`bad etcd datastore URL "${url}": expected etcd:http://host:2379`);
  return { endpoints, prefix: params.get('prefix') ?? '' };
}
