// `concord restore --from FILE --config NODE_CONFIG [--force]`: offline restore of
// one node (see src/backup/restore.ts). Run it for every member of the new
// cluster, from the same backup file, with the node stopped.
import { formatProblems, loadConfig } from '../config/index.js';
import { createLogger } from '../server/start.js';
import { BackupError } from '../backup/errors.js';
import { RESTORED_TERM, restoreBackup } from '../backup/restore.js';

export async function runRestore(options: { from: string; config: string; force?: boolean }): Promise<string> {
  const loaded = loadConfig({ file: options.config, env: process.env });
  if (!loaded.ok) throw new BackupError('CONCORD_ERR_VALIDATION', formatProblems(loaded.problems));
  const logger = createLogger({ node_id: loaded.config.node_id, log_level: loaded.config.log_level === 'info' ? 'warn' : loaded.config.log_level });
  const result = await restoreBackup({ from: options.from, config: loaded.config, force: options.force === true, logger });
  const { header } = result;
  return [
    `restored node ${loaded.config.node_id} from ${options.from}`,
    `  index ${header.index} (term ${header.term ?? 'unknown'} in the old cluster, ${RESTORED_TERM} in the new one), ${header.db_bytes} database bytes, sha256 ${header.db_sha256}`,
    `  state checksum ${result.stateChecksum}; taken on ${header.node_id} at ${header.created_at}`,
    `  new voters: ${result.confState.voters.join(', ')} (old: ${header.membership.voters.join(', ')})`,
    `  data_dir ${result.dataDir}, db_path ${result.dbPath}`,
    ...result.movedAside.map((path) => `  old data moved to ${path}`),
    'restore every member of the new cluster from this same file, then start them with `concord server --config …`',
  ].join('\n');
}
