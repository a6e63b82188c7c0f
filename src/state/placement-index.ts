// Active nodes kept sorted by free space (most first, ties by id), updated whenever
// a node's row or its pending bytes change, so placing a chunk reads the top of the
// order instead of sorting every node. Gives exactly placeReplicas' answer.
import type { NodeRow } from './model.js';

export interface Candidate { readonly node: NodeRow; readonly free: number }

const zoneOf = (node: NodeRow): string => node.zone ?? `node:${node.id}`;
const before = (a: Candidate, b: Candidate): boolean => a.free > b.free || (a.free === b.free && a.node.id < b.node.id);

export class PlacementIndex {
  readonly #sorted: Candidate[] = [];
  readonly #entries = new Map<string, Candidate>();
  /** Active nodes per zone key, to stop the one-per-zone pass once every zone is seen. */
  readonly #zones = new Map<string, number>();

  get size(): number {
    return this.#sorted.length;
  }

  /** Re-rank a node after its row or pending bytes changed (row undefined: gone). */
  update(id: string, row: NodeRow | undefined, pendingBytes: number): void {
    const old = this.#entries.get(id);
    if (old !== undefined) {
      this.#sorted.splice(this.#position(old), 1);
      this.#entries.delete(id);
      const zone = zoneOf(old.node);
      const left = (this.#zones.get(zone) ?? 1) - 1;
      if (left === 0) this.#zones.delete(zone);
      else this.#zones.set(zone, left);
    }
    if (row === undefined || row.status !== 'active') return;
    const entry: Candidate = { node: row, free: row.capacity - row.used - pendingBytes };
    this.#sorted.splice(this.#position(entry), 0, entry);
    this.#entries.set(id, entry);
    this.#zones.set(zoneOf(row), (this.#zones.get(zoneOf(row)) ?? 0) + 1);
  }

  clear(): void {
    this.#sorted.length = 0;
    this.#entries.clear();
    this.#zones.clear();
  }

  /** First position whose entry does not come before `c` (binary search). */
  #position(c: Candidate): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.#sorted[mid], c)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * `count` distinct nodes with room for `size` bytes, not in `exclude`: first at most
   * one per zone (a node without a zone is its own zone), most free first; then the
   * best of the rest. Stops at the first node without room.
   */
  place(size: number, count: number, exclude: ReadonlySet<string>): NodeRow[] {
    const chosen: NodeRow[] = [];
    if (count <= 0) return chosen;
    const zones = new Set<string>();
    for (const c of this.#sorted) {
      if (c.free < size || chosen.length >= count || zones.size >= this.#zones.size) break;
      if (exclude.has(c.node.id)) continue;
      const zone = zoneOf(c.node);
      if (zones.has(zone)) continue;
      zones.add(zone);
      chosen.push(c.node);
    }
    for (const c of this.#sorted) {
      if (c.free < size || chosen.length >= count) break;
      if (!exclude.has(c.node.id) && !chosen.includes(c.node)) chosen.push(c.node);
    }
    return chosen;
  }
}
