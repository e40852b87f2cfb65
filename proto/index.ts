/** The BGP-4 wire codec: bytes in, values out, no I/O. Everything other parts use is exported here. */
export * from './constants.js';
export * from './errors.js';
export * from './context.js';
export * from './header.js';
export * from './framer.js';
export * from './capabilities.js';
export * from './open.js';
export * from './attributes.js';
export * from './nlri.js';
export * from './update.js';
export * from './notification.js';
export * from './refresh.js';
export * from './message.js';
export * from './intern.js';
export * from './format.js';
export { ByteWriter, toHex, fromHex, bytesEqual, concatBytes } from './bytes.js';
export * from './prefix.js';
export * from './pcap.js';
