/**
 * Graceful restart (RFC 4724): pure decisions (decisions.ts) and the engine wrapper that keeps the
 * per-peer state and timers (engine.ts). main.ts wires it: GracefulRestartEngine around the
 * RibBridge, startRecovery when the kernel still held our routes at start.
 */
export * from './decisions.js';
export * from './engine.js';
