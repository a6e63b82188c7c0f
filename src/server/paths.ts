// Where a node keeps what, under its data_dir (the DuckDB file is config.db_path).
import { join } from 'node:path';

/** The Raft module's directory (WAL and snapshots); createRaftNode gets it as dataDir. */
export const raftDataDir = (dataDir: string) => join(dataDir, 'raft');
