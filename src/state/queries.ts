// Lists and statistics answered by DuckDB SQL (DESIGN §3/§4): the caller has passed its
// read barrier; flushing first makes the database hold at least that index. Each
// answer is one statement, so it sees one committed flush, and reports that flush's
// applied_index.
import type { CoordinatorState } from './coordinator-state.js';
import type { NodeRow, TaskRow } from './model.js';
import { packedHashesSql, packedSql } from './store/chunk-list.js';
import { TABLES, rowFromColumns } from './store/tables.js';

const spec = (name: string) => TABLES.find((t) => t.name === name)!;
const APPLIED = `(SELECT value FROM raft_meta WHERE key = 'applied_index')`;

async function listWhere<T>(state: CoordinatorState, table: 'nodes' | 'tasks', status: string | undefined, order: string): Promise<{ rows: T[]; applied: number }> {
  await state.flush();
  const where = status === undefined ? '' : 'WHERE status = $status';
  const columns = ['k', ...spec(table).columns.map((c) => `"${c.name}"`)].join(', ');
  const rows = await state.query(`SELECT ${columns}, ${APPLIED} AS __applied FROM ${table} ${where} ORDER BY ${order}`,
    status === undefined ? undefined : { status });
  const applied = rows.length > 0 ? Number(rows[0].__applied) : state.durableIndex();
  return { rows: rows.map((r) => rowFromColumns(spec(table), r) as T), applied };
}

export const listNodes = (state: CoordinatorState, status?: string) => listWhere<NodeRow>(state, 'nodes', status, 'id');
export const listTasks = (state: CoordinatorState, status?: string) => listWhere<TaskRow>(state, 'tasks', status, 'created_at, id');

export interface NetworkStats {
  capacity_bytes: number; used_bytes: number; nodes: Record<string, number>; files: number; chunks: number; replicas: number;
  under_replicated_chunks: number; tasks: Record<string, number>; applied_index: number;
}

/** Nodes by status as a JSON map (`{}` when there are none). */
const NODES_BY_STATUS = `(SELECT coalesce(to_json(map(list(status), list(n))), '{}') FROM (SELECT status, count(*) AS n FROM nodes GROUP BY 1))`;

const countsOf = (value: unknown): Record<string, number> => {
  const parsed = JSON.parse(String(value ?? '{}')) as Record<string, number> | null;
  return Object.fromEntries(Object.entries(parsed ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Number(v)]));
};

const STATS_SQL = `
WITH file_chunks AS (
  -- Each file's chunk hashes, in one pass over its list (a packed list's hex cut into 64-digit pieces).
  SELECT hash, max(factor) AS factor FROM (
    SELECT unnest(json_extract_string(chunks, '$[*].hash')) AS hash, replication_factor AS factor FROM files WHERE NOT ${packedSql('chunks')}
    UNION ALL
    SELECT unnest(regexp_extract_all(hashes, '.{64}')) AS hash, factor
    FROM (SELECT ${packedHashesSql('chunks', `strpos(chunks, '|')`)} AS hashes, replication_factor AS factor FROM files WHERE ${packedSql('chunks')}))
  GROUP BY 1),
live AS (
  SELECT r.chunk_hash AS hash, count(*) AS n FROM replicas r JOIN nodes n ON n.id = r.node_id AND n.status = 'active' GROUP BY 1)
SELECT
  (SELECT coalesce(sum(capacity), 0) FROM nodes WHERE status = 'active') AS capacity_bytes,
  (SELECT coalesce(sum(used), 0) FROM nodes WHERE status = 'active') AS used_bytes,
  ${NODES_BY_STATUS} AS nodes,
  (SELECT count(*) FROM files) AS files,
  (SELECT count(*) FROM file_chunks) AS chunks,
  (SELECT count(*) FROM replicas) AS replicas,
  (SELECT count(*) FROM file_chunks fc LEFT JOIN live USING (hash) WHERE coalesce(live.n, 0) < fc.factor) AS under_replicated_chunks,
  (SELECT coalesce(to_json(map(list(status), list(n))), '{}') FROM (SELECT status, count(*) AS n FROM tasks GROUP BY 1)) AS tasks,
  ${APPLIED} AS applied_index`;

export async function networkStats(state: CoordinatorState): Promise<NetworkStats> {
  await state.flush();
  const [row] = await state.query(STATS_SQL);
  return {
    capacity_bytes: Number(row.capacity_bytes), used_bytes: Number(row.used_bytes), nodes: countsOf(row.nodes), files: Number(row.files),
    chunks: Number(row.chunks), replicas: Number(row.replicas), under_replicated_chunks: Number(row.under_replicated_chunks),
    tasks: countsOf(row.tasks), applied_index: Number(row.applied_index ?? 0),
  };
}

/** Nodes by status (every status present, zeros included) at one flushed index: `network/status`. */
export async function nodeCounts(state: CoordinatorState): Promise<{ nodes: Record<string, number>; applied_index: number }> {
  await state.flush();
  // One row whatever the table holds: the counts and the index they are at.
  const [row] = await state.query(`SELECT ${NODES_BY_STATUS} AS nodes, ${APPLIED} AS applied`);
  return { nodes: { active: 0, inactive: 0, dead: 0, unregistered: 0, ...countsOf(row.nodes) }, applied_index: Number(row.applied ?? 0) };
}
