// A cluster of kv-node processes on 127.0.0.1 for driver tests.
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { scratchDir } from '../helpers/interrupt.js';
import { freePorts } from '../helpers/ports.js';
import { ProcessGroup, type Child } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

// The compiled fixture, whether this file runs from sources (vitest) or from dist/ (benchmarks).
const here = import.meta.dirname;
const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../..');
const fixture = resolve(root, 'dist/test/integration/fixtures/kv-node.js');

export interface KvStatus { id: string; role: string; term: number; leader: string | null; commit: number;
  applied: number; snapshotIndex: number; lastIndex: number }

export class KvCluster {
  readonly group = new ProcessGroup();
  readonly #scratch = scratchDir('concord-kv-');
  readonly dir = this.#scratch.path;
  readonly ids: string[];
  readonly ports: number[] = [];
  readonly children = new Map<string, Child>();

  constructor(readonly size: number, readonly snapshotThreshold = 50, readonly snapshotTailEntries = 10) {
    this.ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  }

  async init(): Promise<void> {
    this.ports.push(...await freePorts(this.size));
  }

  port(id: string): number {
    return this.ports[this.ids.indexOf(id)];
  }

  start(id: string): Child {
    const peers = this.ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: this.port(p) }));
    const options = { id, port: this.port(id), dataDir: join(this.dir, id), secret: 'test-cluster-secret', peers,
      snapshotThreshold: this.snapshotThreshold, snapshotTailEntries: this.snapshotTailEntries };
    const child = this.group.start(id, process.execPath, [fixture, JSON.stringify(options)], { LOG_LEVEL: 'info' });
    this.children.set(id, child);
    return child;
  }

  async kill(id: string): Promise<void> {
    const child = this.children.get(id);
    if (child) await this.group.kill(child, 'SIGKILL');
    this.children.delete(id);
  }

  live(): string[] {
    return [...this.children.keys()];
  }

  async status(id: string): Promise<KvStatus | null> {
    try {
      const res = await request(`http://127.0.0.1:${this.port(id)}/status`, { headersTimeout: 2000, bodyTimeout: 2000 });
      if (res.statusCode !== 200) { await res.body.dump(); return null; }
      return (await res.body.json()) as KvStatus;
    } catch {
      return null;
    }
  }

  /** The leader that the live nodes agree on (a leader role at the highest term). */
  async waitLeader(timeoutMs = 20_000): Promise<string> {
    return waitUntil(async () => {
      const statuses = (await Promise.all(this.live().map((id) => this.status(id)))).filter((s) => s !== null);
      const leaders = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term);
      if (leaders.length === 0) return null;
      const top = leaders[0];
      const agreeing = statuses.filter((s) => s.leader === top.id && s.term === top.term).length;
      return agreeing * 2 > this.size ? top.id : null;
    }, { timeoutMs, what: 'an agreed leader', intervalMs: 25 });
  }

  /** Write through `id`; returns true when acknowledged, false when refused or unknown. */
  async put(id: string, key: string, value: string): Promise<boolean> {
    try {
      const res = await request(`http://127.0.0.1:${this.port(id)}/kv/${key}`, {
        method: 'PUT', body: JSON.stringify({ value }), headers: { 'content-type': 'application/json' },
        headersTimeout: 5000, bodyTimeout: 5000,
      });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  async get(id: string, key: string): Promise<{ status: number; value: string | null }> {
    const res = await request(`http://127.0.0.1:${this.port(id)}/kv/${key}`, { headersTimeout: 5000, bodyTimeout: 5000 });
    const body = (await res.body.json()) as { value?: string | null };
    return { status: res.statusCode, value: body.value ?? null };
  }

  async dump(id: string): Promise<{ applied: number; map: Record<string, string> }> {
    const res = await request(`http://127.0.0.1:${this.port(id)}/dump`, { headersTimeout: 2000, bodyTimeout: 2000 });
    return (await res.body.json()) as { applied: number; map: Record<string, string> };
  }

  async close(): Promise<void> {
    await this.group.killAll();
    this.#scratch.remove();
  }
}
