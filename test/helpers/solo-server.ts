// One real Concord node on a free loopback port (Raft, WAL and DuckDB in a temp dir),
// started in this process with its log lines captured.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { freePort } from './ports.js';

export interface SoloServer { readonly server: RunningServer; readonly port: number; readonly logs: string[] }

export async function startSolo(dir: string, name: string, extra: Record<string, unknown>): Promise<SoloServer> {
  const port = await freePort();
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ node_id: name, port, data_dir: join(dir, name), log_level: 'info', enable_redundancy: false, ...extra }));
  const loaded = loadConfig({ file });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.problems)}`);
  const logs: string[] = [];
  const server = await startServer(loaded.config, { logDestination: { write: (line: string) => { logs.push(line); } } });
  return { server, port, logs };
}
