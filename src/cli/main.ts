#!/usr/bin/env node
// The `concord` command: `server --config FILE [--force-sync]` runs one node; `cluster --nodes N`
// runs a local cluster on 127.0.0.1 for trying it out.
import { Command, Option } from 'commander';
import { ConfigError, formatProblems, loadConfig } from '../config/index.js';
import { startServer } from '../server/start.js';
import { BackupError } from '../backup/errors.js';
import { type NodeAccess, nodeAccess } from './access.js';
import { type BackupOptions, checkBackupOptions, runBackup } from './backup.js';
import { runLocalCluster } from './local-cluster.js';
import { runRestore } from './restore.js';
import { parseEndpoints, probe, renderTable } from './status.js';
import { generateToken, TOKEN_ROLES, tokenInstructions, type TokenRole } from './token.js';

const program = new Command();
program.name('concord').description('Raft-replicated coordinator on DuckDB');

program.command('server')
  .description('run one Concord node')
  .requiredOption('--config <file>', 'node config (JSON); environment variables override it')
  .option('--force-sync', 'fdatasync every log update, commit-only ones too, and flush DuckDB after every applied batch (config force_sync)')
  .action(async (options: { config: string; forceSync?: boolean }) => {
    const loaded = loadConfig({ file: options.config, env: process.env, flags: options.forceSync === true ? { force_sync: true } : {} });
    if (!loaded.ok) {
      process.stderr.write(`${formatProblems(loaded.problems)}\n`);
      process.exit(2);
    }
    const server = await startServer(loaded.config).catch((error: unknown) => {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${formatProblems(error.problems)}\n`);
      process.exit(2);
    });
    const stop = () => {
      server.logger.info('stopping: handing leadership over first');
      server.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', stop);
    // Under `concord cluster` a terminal Ctrl-C reaches every node at once; the cluster
    // stops them itself instead (followers first, the leader last).
    if (process.env.CONCORD_SUPERVISED === '1') process.on('SIGINT', () => undefined);
    else process.once('SIGINT', stop);
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
  .option('--ca <file>', 'the nodes serve https: verify them with this CA bundle (PEM)')
  .option('--token <token>', 'bearer token when auth is enabled (default: $CONCORD_TOKEN; any role)')
  .action(async (options: { nodes: string[]; json?: boolean; ca?: string; token?: string }) => {
    let endpoints: string[];
    let access: NodeAccess;
    try {
      endpoints = parseEndpoints(options.nodes);
      access = nodeAccess(options);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(2);
    }
    const rows = await Promise.all(endpoints.map((e) => probe(e, 2000, access)));
    await access.dispatcher?.close();
    process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${renderTable(rows)}\n`);
    process.exitCode = rows.every((r) => r.reachable) ? 0 : 1;
  });

program.command('token')
  .description('generate a random bearer token and the auth.tokens entry for it')
  .addOption(new Option('--role <role>', 'what the token may do').choices(TOKEN_ROLES).makeOptionMandatory())
  .action((options: { role: TokenRole }) => {
    process.stdout.write(`${tokenInstructions(generateToken(), options.role)}\n`);
  });

/** Bad input (arguments, config, a corrupt or unreadable backup file) exits 2; other failures 1. */
function fail(error: unknown): never {
  const code = error instanceof BackupError ? error.code : 'CONCORD_ERR_INTERNAL';
  process.stderr.write(`error ${code}: ${(error as Error).message}\n`);
  process.exit(code === 'CONCORD_ERR_VALIDATION' || code === 'CONCORD_ERR_BACKUP_CORRUPT' ? 2 : 1);
}

program.command('backup')
  .description('download a consistent backup of the state from one node (GET /api/backup)')
  .requiredOption('--node <host:port>', 'the node to back up')
  .requiredOption('--out <file>', 'where to write the backup (replaced atomically)')
  .option('--consistency <mode>', 'linearizable (default) or stale', 'linearizable')
  .option('--timeout <ms>', 'give up when the node is silent this long', '60000')
  .option('--ca <file>', 'the node serves https: verify it with this CA bundle (PEM)')
  .option('--token <token>', 'bearer token when auth is enabled (default: $CONCORD_TOKEN; role admin)')
  .action(async (options: { node: string; out: string; consistency: string; timeout: string; ca?: string; token?: string }) => {
    let checked: BackupOptions | undefined;
    try {
      checked = checkBackupOptions(options);
      const { header, bytes, path } = await runBackup(checked);
      process.stdout.write(`backup written to ${path}: index ${header.index} (term ${header.term ?? 'unknown'}), ${bytes} bytes, ` +
        `sha256 ${header.db_sha256}, from node ${header.node_id}\n`);
    } catch (error) {
      await checked?.access.dispatcher?.close();
      fail(error);
    }
    await checked.access.dispatcher?.close();
  });

program.command('restore')
  .description('offline: build a node\'s data dir from a backup file (every member of the new cluster from the same file)')
  .requiredOption('--from <file>', 'a file written by `concord backup`')
  .requiredOption('--config <file>', 'the node config (data_dir, db_path, node_id and peers come from it)')
  .option('--force', 'move existing data aside to <data_dir>.pre-restore-<time> instead of refusing')
  .action(async (options: { from: string; config: string; force?: boolean }) => {
    try {
      process.stdout.write(`${await runRestore(options)}\n`);
    } catch (error) {
      fail(error);
    }
  });

await program.parseAsync(process.argv);
