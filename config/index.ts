/** config/: Calico v3 resources, validation, selectors, intent, IPAM and datastores. */
export * from './errors.js';
export * from './resources.js';
export { parseResources, type ParseResult } from './parse.js';
export { validateResource, validateSet, parsePeerIp } from './validate.js';
export { parseAsn, parseDuration } from './schema.js';
export { parseSelector, selectorMatches, evaluate, SelectorError, type Selector, type SelectorNode, type Labels } from './selector.js';
export { computeNodeIntent, poolIntent, ownBlocksOf, borrowedOf, nodeAddress, protocolName, IntentError } from './intent.js';
export { diffIntent, changedPeerFields, type IntentDiff } from './diff.js';
export { chooseRouterId, clusterRouterId } from './router-id.js';
export * from './cidr.js';
export { poolGeometry, blockAt, blockCidrAt, blockIndexOf, blockCapacity, blockOrdinalAddress, fnv32, type PoolGeometry } from './ipam/blocks.js';
export { choosePools, requestedPools, POOL_ANNOTATION, type PoolChoice } from './ipam/pools.js';
export {
  planAllocate, planConfirm, planRelease, planReleaseEmptyBlocks, planReleaseNode, applyIpamWrites, ipamSettings,
  type AllocateRequest, type AllocatePlan, type IpamWrite, type IpamSettings,
} from './ipam/assign.js';
export { openDatastore, resolveDatastoreUrl, DEFAULT_DATASTORE, type Datastore, type WatchEvent, type AllocateResult, type ApplyResult, type Liveness } from './datastore/index.js';
export { serializeResources } from './datastore/file.js';
