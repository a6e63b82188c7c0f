#!/usr/bin/env node
// The `concord` command: `server --config FILE` runs one node; `cluster --nodes N`
// runs a local cluster on 127.0.0.1 for trying it out.
import { Command } from 'commander';
import { formatProblems, loadConfig } from '../config/index.js';
import { startServer } from '../server/start.js';
import { runLocalCluster } from './local-cluster.js';
import { parseEndpoints, probe, renderTable } from './status.js';

const program = new Command();
program.name('concord').description('Raft-replicated coordinator on DuckDB');

program.command('server')
  .description('run one Concord node')
  .requiredOption('--config <file>', 'node config (JSON); environment variables override it')
  .action(async (options: { config: string }) => {
    const loaded = loadConfig({ file: options.config, env: process.env });
    if (!loaded.ok) {
      process.stderr.write(`${formatProblems(loaded.problems)}\n`);
      process.exit(2);
    }
    const server = await startServer(loaded.config);
    const stop = () => {
      server.logger.info('stopping: handing leadership over first');
      server.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program.command('cluster')
  .description('run a local cluster of N nodes on 127.0.0.1')
  .option('--nodes <n>', 'number of nodes (3 or 5)', '3')
  .option('--base-port <port>', 'first port', '8081')
  .option('--data-dir <dir>', 'where node data lives', './data')
  .action(async (options: { nodes: string; basePort: string; dataDir: string }) => {
    const nodes = Number(options.nodes);
    const basePort = Number(options.basePort);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9 || !Number.isInteger(basePort) || basePort < 1 || basePort > 65_000) {
      process.stderr.write('--nodes must be 1..9 and --base-port a valid port\n');
      process.exit(2);
    }
    await runLocalCluster({ nodes, basePort, dataDir: options.dataDir });
  });

program.command('status')
  .description('one-shot status table of the given nodes')
  .requiredOption('--nodes <endpoints...>', 'host:port list, space- or comma-separated')
  .option('--json', 'print JSON instead of a table')
  .action(async (options: { nodes: string[]; json?: boolean }) => {
    let endpoints: string[];
    try {
      endpoints = parseEndpoints(options.nodes);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(2);
    }
    const rows = await Promise.all(endpoints.map((e) => probe(e)));
    process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${renderTable(rows)}\n`);
    process.exitCode = rows.every((r) => r.reachable) ? 0 : 1;
  });

await program.parseAsync(process.argv);
