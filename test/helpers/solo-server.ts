// One real Concord node on a free loopback port (Raft, WAL and DuckDB in a temp dir),
// started in this process with its log lines captured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server/start.js';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

export interface SoloServer { readonly server: RunningServer; readonly port: number; readonly logs: string[] }

export async function startSolo(dir: string, name: string, extra: Record<string, unknown>, options: Omit<StartOptions, 'logDestination'> = {}): Promise<SoloServer> {
  const port = await freePort();
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ node_id: name, port, data_dir: join(dir, name), log_level: 'info', enable_redundancy: false, ...extra }));
  const loaded = loadConfig({ file });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.problems)}`);
  const logs: string[] = [];
  const server = await startServer(loaded.config, { ...options, logDestination: { write: (line: string) => { logs.push(line); } } });
  return { server, port, logs };
}

export interface JsonAnswer { status: number; body: any; headers: Record<string, string | string[] | undefined> } // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * One ready single node for a test file: started in `beforeAll` (in a fresh temporary
 * directory, until `/ready` answers 200), closed and removed in `afterAll`. `call` sends a
 * request to it (an object body as JSON, a string as it is; extra headers), `logs` is
 * what it has logged, `origin` its base URL.
 */
export function soloForFile(prefix: string, extra: Record<string, unknown> = { log_level: 'warn' }) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let solo: SoloServer | undefined;
  const started = (): SoloServer => {
    if (solo === undefined) throw new Error('the solo node is not started (call it from a test)');
    return solo;
  };
  const origin = (): string => `http://127.0.0.1:${started().port}`;
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> => {
    const res = await request(`${origin()}${path}`, { method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, body: text.length > 0 ? JSON.parse(text) : null, headers: res.headers };
  };
  beforeAll(async () => {
    solo = await startSolo(dir, 'solo', extra);
    await waitUntil(async () => (await call('GET', '/ready')).status === 200, { timeoutMs: 15_000, what: 'the node to be ready' });
  });
  afterAll(async () => {
    await solo?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** The node's log output so far (pino JSON lines, as written). */
  const logs = (): readonly string[] => started().logs;
  return { call, logs, origin };
}
