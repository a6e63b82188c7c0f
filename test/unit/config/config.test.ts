// Node configuration: defaults, environment overrides, and every problem reported at once.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblems, loadConfig } from '../../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('node configuration', () => {
  it('accepts every example config in configs/', () => {
    const root = resolve(import.meta.dirname, '../../../configs');
    const files = ['single-node.json', ...['cluster-3', 'cluster-5'].flatMap((d) => readdirSync(join(root, d)).map((f) => join(d, f)))];
    expect(files.length).toBe(9);
    for (const name of files) {
      const result = loadConfig({ file: join(root, name) });
      expect(result.ok, `${name}: ${result.ok ? '' : formatProblems(result.problems)}`).toBe(true);
    }
  });

  it('fills defaults, lower-cases the log level and derives db_path', () => {
    const result = loadConfig({ file: file('single.json', { node_id: 'a', data_dir: '/tmp/x', enable_redundancy: false, log_level: 'WARN' }) });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({ port: 8080, log_level: 'warn', heartbeat_interval: 50, election_timeout_min: 150,
      db_path: join('/tmp/x', 'coordinator.duckdb'), replication_factor: 3 });
    expect(Object.isFrozen(result.config)).toBe(true);
  });

  it('lets environment variables override the file, including PEERS', () => {
    const path = file('base.json', { node_id: 'a', data_dir: '/tmp/a', enable_redundancy: false });
    const result = loadConfig({ file: path, env: { NODE_ID: 'n1', PORT: '9001', PEERS: 'n2@127.0.0.1:9002, 127.0.0.1:9003',
      CLUSTER_SECRET: 'a-long-enough-secret', LOG_LEVEL: 'DEBUG', HOST: '127.0.0.7', DATA_DIR: '/tmp/from-env', DB_PATH: '/tmp/elsewhere/state.duckdb' } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.node_id).toBe('n1');
    expect(result.config.port).toBe(9001);
    expect(result.config).toMatchObject({ host: '127.0.0.7', data_dir: '/tmp/from-env', db_path: '/tmp/elsewhere/state.duckdb', cluster_secret: 'a-long-enough-secret' });
    expect(result.config.log_level).toBe('debug');
    expect(result.config.peers).toEqual([{ id: 'n2', host: '127.0.0.1', port: 9002 }, { id: '127.0.0.1:9003', host: '127.0.0.1', port: 9003 }]);
  });

  it('reports every problem with path, expectation and value, hiding secrets', () => {
    const result = loadConfig({ file: file('bad.json', {
      node_id: 'a', data_dir: '/tmp/a', port: 70000, election_timeout_min: 300, election_timeout_max: 100,
      peers: [{ id: 'a', host: '127.0.0.1', port: 1 }, { id: 'b', host: '127.0.0.1', port: 1 }], cluster_secret: 'short', surprise: 1,
      max_log_size: 'big', // a wrong type: zod stops checking the object's refinements unless told otherwise
    }), env: { PEERS: undefined } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path);
    // Field problems and the checks between fields come together, in one run.
    expect(paths).toEqual(expect.arrayContaining(['port', 'cluster_secret', '(root)', 'max_log_size', 'election_timeout_max', 'peers.0.id']));
    const text = formatProblems(result.problems);
    expect(text).toContain('port: expected');
    expect(text).toContain('70000');
    expect(text).not.toContain('short');
    expect(result.problems.length).toBeGreaterThanOrEqual(3);
  });

  it('keeps 10,000 entries behind a snapshot unless max_log_size says otherwise, and refuses a log smaller than the threshold', () => {
    const base = { node_id: 'a', data_dir: '/tmp/x', enable_redundancy: false };
    const load = (name: string, extra: object) => loadConfig({ file: file(name, { ...base, ...extra }) });
    const sizes = (name: string, extra: object) => {
      const result = load(name, extra);
      return result.ok ? [result.config.snapshot_threshold, result.config.max_log_size] : formatProblems(result.problems);
    };
    expect(sizes('log-default.json', {})).toEqual([50_000, 60_000]);
    expect(sizes('log-threshold.json', { snapshot_threshold: 10_000 })).toEqual([10_000, 20_000]);
    expect(sizes('log-both.json', { snapshot_threshold: 1_000, max_log_size: 1_000 })).toEqual([1_000, 1_000]);
    expect(sizes('log-small.json', { max_log_size: 20_000 })).toContain('must be ≥ snapshot_threshold (50000)');
  });

  it('checks fields against each other', () => {
    const result = loadConfig({ file: file('cross.json', {
      node_id: 'a', data_dir: '/tmp/a', election_timeout_min: 300, election_timeout_max: 100, heartbeat_interval: 200,
      peers: [{ id: 'a', host: '127.0.0.1', port: 1 }, { id: 'b', host: '127.0.0.1', port: 1 }],
      cluster_secret: 'a-long-enough-secret',
    }) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = formatProblems(result.problems);
    expect(text).toContain('election_timeout_max');
    expect(text).toContain('election_timeout_min');
    expect(text).toContain("must not be this node's id");
    expect(text).toContain('duplicate address');
  });

  it('takes force_sync from the file, off by default; a command-line flag overrides the file', () => {
    const base = { node_id: 'a', data_dir: '/tmp/a', enable_redundancy: false };
    const forceSync = (value: object, flags?: Record<string, unknown>) => {
      const result = loadConfig({ file: file('sync.json', { ...base, ...value }), ...(flags === undefined ? {} : { flags }) });
      if (!result.ok) throw new Error(formatProblems(result.problems));
      return result.config.force_sync;
    };
    expect(forceSync({})).toBe(false);
    expect(forceSync({ force_sync: true })).toBe(true);
    expect(forceSync({ force_sync: false }, { force_sync: true })).toBe(true);
    const bad = loadConfig({ file: file('sync-bad.json', { ...base, force_sync: 'yes' }) });
    expect(bad.ok ? [] : bad.problems.map((p) => p.path)).toEqual(['force_sync']);
  });

  it('refuses unreadable or non-object files and malformed PEERS', () => {
    for (const path of [join(dir, 'missing.json'), file('garbage.json', '{nope'), file('array.json', [1])]) {
      const result = loadConfig({ file: path });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems[0].path).toBe('(file)');
    }
    const result = loadConfig({ env: { NODE_ID: 'a', DATA_DIR: '/tmp/a', PEERS: 'not-an-address', PORT: 'eighty' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['PEERS[0]', 'PORT']));
  });
});
