#!/usr/bin/env node
/**
 * petrelctl: the operator's CLI. It talks to a daemon only through its control socket, and to the
 * cluster only through the datastore. Each command family lives in tools/ctl/<family>.ts.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { register as registerNode } from './ctl/node.js';
import { register as registerIpam } from './ctl/ipam.js';
import { register as registerResources } from './ctl/resources.js';
import { register as registerLab } from './ctl/lab.js';
import { register as registerDecode } from './ctl/decode.js';

export function buildProgram(): Command {
  const program = new Command('petrelctl')
    .description('Query and configure Petrel: node status, IPAM, resources, the namespace lab, message decoding')
    .option('--ctl-socket <path>', 'control socket of the daemon to query', process.env.PETREL_CTL_SOCKET ?? '/var/run/calico/bird.ctl')
    .option('--datastore <url>', 'datastore: file:<path> or etcd:http://host:2379 (default: $PETREL_DATASTORE)')
    .showHelpAfterError();
  registerNode(program);
  registerIpam(program);
  registerResources(program);
  registerLab(program);
  registerDecode(program);
  return program;
}

// True when run as a program (also through npm's bin symlink), false when imported by tests.
const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`petrelctl: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
