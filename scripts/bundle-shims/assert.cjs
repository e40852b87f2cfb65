'use strict';
// For sonic-boom (pino's destination) and thread-stream in the daemon bundle: they call assert(value,
// message) only. node:assert itself loads Node's assertion-error formatting, which opens
// process.stderr to learn its colours (~0.5 ms of CPU at every daemon start).
module.exports = function assert(value, message) {
  if (!value) throw new Error(message === undefined ? 'assertion failed' : String(message));
};
