// A cluster of real `concord server --config FILE` processes on 127.0.0.1: one
// config file per node in a temporary directory, free ports, election timeouts
// 150–300 ms and heartbeats every 50 ms. Kills only what it started.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePorts } from './ports.js';
import { scratchDir } from './interrupt.js';
import { ProcessGroup, type Child } from './processes.js';
import { waitUntil } from './wait.js';

// The compiled CLI, whether this file runs from sources (vitest) or from dist/ (benchmarks).
const here = import.meta.dirname;
const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../..');
export const CLI = resolve(root, 'dist/src/cli/main.js');

export interface ServerClusterOptions {
  /** Node ids are `${idPrefix}1..N`. */
  readonly idPrefix?: string;
  /** Extra config keys for every node (they override the defaults here). */
  readonly config?: Record<string, unknown>;
  /** Extra `node` flags (before the CLI path) for one node, e.g. `--cpu-prof`. */
  readonly nodeFlags?: (id: string) => readonly string[];
}

export interface ServerStatus {
  node_id: string; role: string; term: number; current_leader: string | null;
  commit_index: number; applied_index: number; last_log_index: number; snapshot_index: number;
  peers: { id: string; address: string; match_index: number | null; last_contact_ms: number | null }[];
}

export interface Answer { status: number; body: any } // eslint-disable-line @typescript-eslint/no-explicit-any

export class ServerCluster {
  readonly group = new ProcessGroup();
  readonly #scratch = scratchDir('concord-servers-');
  readonly dir = this.#scratch.path;
  readonly ids: string[];
  readonly ports: number[] = [];
  readonly children = new Map<string, Child>();

  constructor(readonly size: number, readonly options: ServerClusterOptions = {}) {
    this.ids = Array.from({ length: size }, (_, i) => `${options.idPrefix ?? 's'}${i + 1}`);
  }

  /** Pick free ports and write one config file per node. */
  async init(): Promise<void> {
    this.ports.push(...await freePorts(this.size));
    for (const id of this.ids) {
      const peers = this.ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: this.port(p) }));
      writeFileSync(this.configPath(id), JSON.stringify({
        node_id: id, host: '127.0.0.1', port: this.port(id), data_dir: join(this.dir, id), log_level: 'warn',
        cluster_secret: 'cluster-test-secret-0123', enable_redundancy: this.size > 1, peers,
        election_timeout_min: 150, election_timeout_max: 300, heartbeat_interval: 50,
        ...this.options.config,
      }), { mode: 0o600 });
    }
  }

  configPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  port(id: string): number {
    return this.ports[this.ids.indexOf(id)];
  }

  origin(id: string): string {
    return `http://127.0.0.1:${this.port(id)}`;
  }

  start(id: string): Child {
    const flags = this.options.nodeFlags?.(id) ?? [];
    for (const flag of flags) {
      const dir = /^--cpu-prof-dir=(.+)$/.exec(flag)?.[1];
      if (dir !== undefined) mkdirSync(dir, { recursive: true });
    }
    const child = this.group.start(id, process.execPath, [...flags, CLI, 'server', '--config', this.configPath(id)]);
    this.children.set(id, child);
    return child;
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  /** Stop one node: SIGKILL by default; SIGTERM lets it hand leadership over and exit cleanly. */
  async stop(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.children.get(id);
    this.children.delete(id);
    if (child !== undefined) await this.group.kill(child, signal);
  }

  live(): string[] {
    return [...this.children.keys()];
  }

  pid(id: string): number | undefined {
    return this.children.get(id)?.process.pid;
  }

  async call(id: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
    const res = await request(`${this.origin(id)}${path}`, { method, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : null };
  }

  async status(id: string): Promise<ServerStatus | null> {
    try {
      const answer = await this.call(id, 'GET', '/api/status', undefined, 2000);
      return answer.status === 200 ? answer.body as ServerStatus : null;
    } catch {
      return null;
    }
  }

  /** The leader that a majority of the cluster agrees on (a leader at the highest term). */
  async leader(timeoutMs = 20_000): Promise<string> {
    return waitUntil(async () => {
      const statuses = (await Promise.all(this.live().map((id) => this.status(id)))).filter((s) => s !== null);
      const top = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)[0];
      if (top === undefined) return null;
      const agreeing = statuses.filter((s) => s.current_leader === top.node_id && s.term === top.term).length;
      return agreeing * 2 > this.size ? top.node_id : null;
    }, { timeoutMs, what: 'an agreed leader', intervalMs: 25 });
  }

  /** Wait until `id` knows a leader and has applied everything the leader had committed when called. */
  async caughtUp(id: string, timeoutMs = 60_000): Promise<void> {
    const leader = await this.leader(timeoutMs);
    const target = (await this.status(leader))?.commit_index ?? 0;
    // The leader may change meanwhile: any known leader will do.
    await waitUntil(async () => {
      const s = await this.status(id);
      return s !== null && s.current_leader !== null && s.applied_index >= target;
    }, { timeoutMs, what: `${id} to catch up to index ${target}`, intervalMs: 25 });
  }

  /** The last lines each node printed, for diagnosing a failure. */
  output(): string {
    return [...this.children].map(([id, child]) => `--- ${id}\n${child.output.join('').slice(-2000)}`).join('\n');
  }

  async close(): Promise<void> {
    await this.group.killAll();
    this.children.clear();
    this.#scratch.remove();
  }
}
