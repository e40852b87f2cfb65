/**
 * petrelctl lab: build, inspect and remove a namespace lab from a topology file.
 *   lab up <topology.yaml> [--name <lab>] [--datastore file|etcd]
 *   lab down [--name <lab>]
 *   lab status [--name <lab>]
 *   lab wait [--name <lab>] [--timeout <s>]
 *   lab workload [--name <lab>] <host> [--pool <pool>]
 *   lab exec [--name <lab>] <host> -- <cmd...>
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DEFAULT_LAB_NAME, parseTopology } from '../lab/topology.js';
import { addWorkload, labDown, labExec, labStatus, labUp, LabError } from '../lab/lab.js';
import { readState } from '../lab/state.js';
import { labWait } from '../lab/converge.js';

const defaultName = (): string => process.env.PETREL_LAB ?? DEFAULT_LAB_NAME;

export function register(program: Command): void {
  const lab = program.command('lab').description('A lab of network namespaces: petrel nodes, BIRD/GoBGP routers, workloads');

  lab
    .command('up')
    .description('build the lab described by a topology file (idempotent: completes or repairs a running lab)')
    .argument('<topology>', 'topology YAML file (see docs/examples/lab/)')
    .option('--name <lab>', 'lab name; namespaces are <lab>-<host> (default: the topology\'s name)')
    .option('--datastore <kind>', 'file (a YAML file shared by the lab, default) or etcd (an etcd the lab starts)')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (file: string, local: { name?: string; datastore?: string; quiet?: boolean }, cmd: Command) => {
      // petrelctl's global --datastore <url> shares the flag name and may have taken the value.
      const kind = local.datastore ?? (cmd.optsWithGlobals() as { datastore?: string }).datastore ?? 'file';
      if (kind !== 'file' && kind !== 'etcd') throw new Error(`lab up --datastore must be file or etcd, not '${kind}'`);
      const datastore: 'file' | 'etcd' = kind;
      const opts = { ...local, datastore };
      const topo = parseTopology(await readFile(file, 'utf8'));
      const log = opts.quiet ? undefined : (line: string) => process.stdout.write(`lab: ${line}\n`);
      const st = await labUp(topo, { ...(opts.name ? { name: opts.name } : {}), datastore: opts.datastore, ...(log ? { log } : {}) });
      if (!opts.quiet) process.stdout.write(`lab ${st.name} is up. Look around: petrelctl lab status --name ${st.name}; take it down: petrelctl lab down --name ${st.name}\n`);
    });

  lab
    .command('down')
    .description('stop everything the lab started and delete its namespaces and files (also after a crash)')
    .option('--name <lab>', 'lab name', defaultName())
    .action(async (opts: { name: string }) => {
      const r = await labDown(opts.name);
      if (!r) {
        process.stdout.write(`no lab named '${opts.name}' is up\n`);
        return;
      }
      process.stdout.write(`lab ${r.name} is down: stopped ${r.stopped.length} processes, deleted ${r.namespaces.length} namespaces\n`);
    });

  lab
    .command('status')
    .description('per host: processes, node status (petrel) or protocols (routers), and ip route')
    .option('--name <lab>', 'lab name', defaultName())
    .action(async (opts: { name: string }) => {
      process.stdout.write(await labStatus(opts.name));
    });

  lab
    .command('wait')
    .description('wait until every expected BGP session is Established and every workload is routed everywhere')
    .option('--name <lab>', 'lab name', defaultName())
    .option('--timeout <seconds>', 'give up after this long', '30')
    .action(async (opts: { name: string; timeout: string }) => {
      await labWait(opts.name, Number(opts.timeout) * 1000);
    });

  lab
    .command('workload')
    .description('allocate an address from IPAM for a petrel host and put it on a workload namespace there')
    .option('--name <lab>', 'lab name', defaultName())
    .option('--pool <pool>', 'IP pool name or CIDR to allocate from')
    .argument('<host>', 'petrel host')
    .action(async (host: string, opts: { name: string; pool?: string }) => {
      const st = await readState(opts.name);
      if (!st) throw new LabError(`no lab named '${opts.name}' is up`);
      const w = await addWorkload(st, host, opts.pool);
      process.stdout.write(`${w.address} on ${w.host} (namespace ${w.namespace})\n`);
    });

  lab
    .command('exec')
    .description('run a command inside a host\'s namespace (petrelctl there talks to that host\'s daemon)')
    .option('--name <lab>', 'lab name', defaultName())
    .argument('<host>', 'host name (or a workload address)')
    .argument('<cmd...>', 'command and arguments, after --')
    .action(async (host: string, cmd: string[], opts: { name: string }) => {
      process.exitCode = await labExec(opts.name, host, cmd);
    });
}
