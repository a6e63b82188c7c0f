// Derived task indexes, kept in step with the tasks table by its change hook:
// queued tasks grouped by required capabilities, each group a heap in queue order
// (higher priority, then older, then id), so a claim looks at one task per group;
// and the set of running tasks, so the sweep checks leases without a full scan.
// Entries are dropped lazily: a heap top that is no longer queued is discarded.
import { Heap } from './heap.js';
import type { TaskRow } from './model.js';

/** Does `a` come before `b` in the queue? Higher priority first, then older, then by id. */
export function queuedBefore(a: TaskRow, b: TaskRow): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at;
  return a.id < b.id;
}

interface Group { readonly required: readonly string[]; readonly heap: Heap<TaskRow> }

export class TaskIndex {
  readonly #groups = new Map<string, Group>();
  readonly running = new Set<string>();

  constructor(private readonly current: (id: string) => TaskRow | undefined) {}

  changed(id: string, old: TaskRow | undefined, row: TaskRow | undefined): void {
    if (row?.status === 'running') this.running.add(id);
    else this.running.delete(id);
    if (row?.status === 'queued' && old?.status !== 'queued') {
      const signature = row.required_capabilities.join('\n');
      let group = this.#groups.get(signature);
      if (group === undefined) {
        group = { required: row.required_capabilities, heap: new Heap(queuedBefore) };
        this.#groups.set(signature, group);
      }
      group.heap.push(row);
    }
  }

  /** The first queued task whose required capabilities are all in `have`. */
  best(have: ReadonlySet<string>): TaskRow | null {
    let best: TaskRow | null = null;
    for (const [signature, group] of this.#groups) {
      if (!group.required.every((c) => have.has(c))) continue;
      const top = this.#top(group);
      if (top === undefined) {
        this.#groups.delete(signature);
        continue;
      }
      if (best === null || queuedBefore(top, best)) best = top;
    }
    return best;
  }

  #top(group: Group): TaskRow | undefined {
    for (;;) {
      const top = group.heap.peek();
      if (top === undefined) return undefined;
      const now = this.current(top.id);
      if (now !== undefined && now.status === 'queued') return now;
      group.heap.pop();
    }
  }

  clear(): void {
    this.#groups.clear();
    this.running.clear();
  }
}
