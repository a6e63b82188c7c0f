// Load the node config: JSON file, then environment overrides, then command-line
// flags, validated once by the schema. Every problem is reported (path, expected, got); secrets are masked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { configSchema, type ConcordConfig } from './schema.js';

export interface ConfigProblem {
  readonly path: string;
  readonly expected: string;
  readonly got: string;
}

export type LoadResult =
  | { readonly ok: true; readonly config: Readonly<ConcordConfig> }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

const SECRET_KEYS = /secret|token|password|key_file/i;

/** Environment variables that override file keys (DESIGN §5). */
export function environmentOverrides(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const text: [string, string][] = [['NODE_ID', 'node_id'], ['HOST', 'host'], ['DATA_DIR', 'data_dir'], ['DB_PATH', 'db_path'],
    ['LOG_LEVEL', 'log_level'], ['CLUSTER_SECRET', 'cluster_secret']];
  for (const [name, key] of text) if (env[name] !== undefined && env[name] !== '') out[key] = env[name];
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (Number.isInteger(port)) out.port = port;
    else problems.push({ path: 'PORT', expected: 'an integer port', got: JSON.stringify(env.PORT) });
  }
  if (env.PEERS !== undefined && env.PEERS !== '') out.peers = parsePeers(env.PEERS, problems);
  return out;
}

/** PEERS=host:port,… or id@host:port,… (a peer without an id is named "host:port"). */
export function parsePeers(value: string, problems: ConfigProblem[]): { id: string; host: string; port: number }[] {
  const peers: { id: string; host: string; port: number }[] = [];
  for (const [i, item] of value.split(/[\s,]+/).filter((s) => s.length > 0).entries()) {
    const match = /^(?:([^@\s]+)@)?([^:@\s]+):(\d{1,5})$/.exec(item);
    if (match === null) {
      problems.push({ path: `PEERS[${i}]`, expected: 'host:port or id@host:port', got: JSON.stringify(item) });
      continue;
    }
    peers.push({ id: match[1] ?? `${match[2]}:${match[3]}`, host: match[2], port: Number(match[3]) });
  }
  return peers;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeValue(path: string, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (SECRET_KEYS.test(path)) return '(hidden)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function problemsOf(error: z.ZodError, input: unknown): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(root)';
    return { path, expected: issue.message, got: describeValue(path, valueAt(input, issue.path)) };
  });
}

export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown> }): LoadResult {
  const problems: ConfigProblem[] = [];
  let fromFile: Record<string, unknown> = {};
  if (options.file !== undefined) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(options.file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push({ path: '(file)', expected: 'a JSON object', got: describeValue('', parsed) });
      } else {
        fromFile = parsed as Record<string, unknown>;
      }
    } catch (error) {
      problems.push({ path: '(file)', expected: `a readable JSON file at ${options.file}`, got: (error as Error).message });
    }
  }
  const input = { ...fromFile, ...environmentOverrides(options.env ?? {}, problems), ...options.flags };
  const result = configSchema.safeParse(input);
  if (!result.success) problems.push(...problemsOf(result.error, input));
  if (problems.length > 0 || !result.success) return { ok: false, problems };
  const config = { ...result.data, db_path: result.data.db_path ?? join(result.data.data_dir, 'coordinator.duckdb') };
  return { ok: true, config: Object.freeze(config) };
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return ['invalid configuration:', ...problems.map((p) => `  ${p.path}: expected ${p.expected}, got ${p.got}`)].join('\n');
}
