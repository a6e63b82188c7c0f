// Storage-node heartbeats are frequent and small: the leader collects them and
// proposes one node.heartbeat_batch entry per interval (DESIGN §3), so many nodes
// do not mean many log entries. Each caller learns whether its node was known.
import type { RaftNodeHandle } from '../../raft/node-api.js';
import { encodeCommand, type CommandResult, type NodeStats } from '../state/index.js';

interface Waiter { resolve: (result: CommandResult) => void; reject: (error: unknown) => void }

export class HeartbeatBatcher {
  #beats = new Map<string, { used: number; stats: NodeStats | undefined; waiters: Waiter[] }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly raft: RaftNodeHandle, private readonly intervalMs: number, private readonly beatsPerEntryMax = 10_000) {}

  add(id: string, usedBytes: number, stats?: NodeStats): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const entry = this.#beats.get(id) ?? { used: usedBytes, stats, waiters: [] };
      entry.used = usedBytes; // the newest report wins
      if (stats !== undefined) entry.stats = stats;
      entry.waiters.push({ resolve, reject });
      this.#beats.set(id, entry);
      if (this.#beats.size >= this.beatsPerEntryMax) void this.flush();
      else if (this.#timer === null) this.#timer = setTimeout(() => void this.flush(), this.intervalMs);
    });
  }

  async flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#beats;
    this.#beats = new Map();
    if (batch.size === 0) return;
    const beats = [...batch].map(([id, b]) => ({ id, used_bytes: b.used, ...(b.stats === undefined ? {} : { stats: b.stats }) }));
    try {
      const { result } = await this.raft.propose(encodeCommand({ v: 1, ts: Date.now(), cmd: { type: 'node.heartbeat_batch', beats } }));
      const outcome = result as CommandResult;
      const unknown = new Set(outcome.ok ? (outcome.value as { unknown: string[] }).unknown : beats.map((b) => b.id));
      for (const [id, b] of batch) {
        const answer: CommandResult = unknown.has(id)
          ? { ok: false, error: { code: 'CONCORD_ERR_NOT_FOUND', message: `node ${id} is not registered` } }
          : { ok: true, value: { id, accepted: true } };
        for (const w of b.waiters) w.resolve(answer);
      }
    } catch (error) {
      for (const b of batch.values()) for (const w of b.waiters) w.reject(error);
    }
  }
}
