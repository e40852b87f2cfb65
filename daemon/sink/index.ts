/** Route sinks: where the Loc-RIB's kernel routes go. Both hold the same table for the same input. */
export { KernelSink, type KernelSinkOptions } from './kernel.js';
export { MockSink, type MockSinkOptions } from './mock.js';
export { chooseSink, hasNetAdmin, SinkUnavailableError, type SinkChoice } from './choose.js';
