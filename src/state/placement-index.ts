// Active nodes kept sorted by free space (most first, ties by id), updated whenever
// a node's row or its pending bytes change, so placing a chunk reads the top of the
// order instead of sorting every node. Gives exactly placeReplicas' answer. The order
// is a SortedBlocks: each placement re-ranks its targets, which in one flat array
// moved every other node's entry (with 16,000 nodes, most of a file registration).
// A row change that keeps a node's free space (a heartbeat) does not move its entry.
import type { NodeRow } from './model.js';
import { SortedBlocks } from './sorted-blocks.js';

/** `id` repeats `node.id`: comparisons read it without a trip through the row (a cache miss apiece with 10,000s of nodes). */
export interface Candidate { readonly node: NodeRow; readonly free: number; readonly id: string }
/** Inside the index the row is swapped in place when the node's rank does not change. */
interface Entry extends Candidate { node: NodeRow }

const zoneOf = (node: NodeRow): string => node.zone ?? `node:${node.id}`;
const before = (a: Candidate, b: Candidate): boolean => a.free > b.free || (a.free === b.free && a.id < b.id);

export class PlacementIndex {
  readonly #sorted = new SortedBlocks<Entry>(before);
  readonly #entries = new Map<string, Entry>();
  /** Active nodes per zone key, to stop the one-per-zone pass once every zone is seen. */
  readonly #zones = new Map<string, number>();

  get size(): number {
    return this.#sorted.size;
  }

  /** Zones with an active node (a node without a zone is its own). */
  get zoneCount(): number {
    return this.#zones.size;
  }

  /** Re-rank a node after its row or pending bytes changed (row undefined: gone). */
  update(id: string, row: NodeRow | undefined, pendingBytes: number): void {
    const old = this.#entries.get(id);
    const active = row !== undefined && row.status === 'active';
    const free = active ? row.capacity - row.used - pendingBytes : 0;
    if (old !== undefined && active && old.free === free) {
      // Same rank (free space and id): only the row and maybe the zone change.
      const was = zoneOf(old.node);
      const now = zoneOf(row);
      if (was !== now) {
        this.#leaveZone(was);
        this.#joinZone(now);
      }
      old.node = row;
      return;
    }
    if (old !== undefined) {
      this.#sorted.remove(old);
      this.#entries.delete(id);
      this.#leaveZone(zoneOf(old.node));
    }
    if (!active) return;
    const entry: Entry = { node: row, free, id: row.id };
    this.#sorted.insert(entry);
    this.#entries.set(id, entry);
    this.#joinZone(zoneOf(row));
  }

  clear(): void {
    this.#sorted.clear();
    this.#entries.clear();
    this.#zones.clear();
  }

  #joinZone(zone: string): void {
    this.#zones.set(zone, (this.#zones.get(zone) ?? 0) + 1);
  }

  #leaveZone(zone: string): void {
    const left = (this.#zones.get(zone) ?? 1) - 1;
    if (left === 0) this.#zones.delete(zone);
    else this.#zones.set(zone, left);
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
    const zoneCount = this.#zones.size;
    this.#sorted.forEachUntil((c) => {
      if (c.free < size || chosen.length >= count || zones.size >= zoneCount) return false;
      if (exclude.has(c.node.id)) return true;
      const zone = zoneOf(c.node);
      if (zones.has(zone)) return true;
      zones.add(zone);
      chosen.push(c.node);
      return true;
    });
    this.#sorted.forEachUntil((c) => {
      if (c.free < size || chosen.length >= count) return false;
      if (!exclude.has(c.node.id) && !chosen.includes(c.node)) chosen.push(c.node);
      return true;
    });
    return chosen;
  }
}
