'use strict';
// For pino (lib/tools.js) and thread-stream in the daemon bundle. The daemon runs its logger on the
// main thread and uses no pino transport (a worker thread): pino asks isMainThread only, and a
// transport's Worker is never made. node:worker_threads loads Node's worker machinery at every start.
module.exports = {
  isMainThread: true,
  Worker: class Worker {
    constructor() {
      throw new Error('pino transports (worker threads) are not part of the petrel daemon bundle');
    }
  },
};
