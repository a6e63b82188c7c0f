// Replica placement: `count` distinct active nodes with room for `size` bytes,
// spread across zones first, then by most free space, ties broken by id.
// Pure and deterministic: same nodes + same request ⇒ same answer.
import type { NodeRow } from './model.js';

export interface PlacementCandidate { readonly node: NodeRow; readonly free: number }

export function placeReplicas(options: {
  nodes: Iterable<NodeRow>; pendingBytes: (id: string) => number; size: number; count: number; exclude: ReadonlySet<string>;
}): NodeRow[] {
  const candidates: PlacementCandidate[] = [];
  for (const node of options.nodes) {
    if (node.status !== 'active' || options.exclude.has(node.id)) continue;
    const free = node.capacity - node.used - options.pendingBytes(node.id);
    if (free >= options.size) candidates.push({ node, free });
  }
  candidates.sort((a, b) => b.free - a.free || (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0));
  const chosen: NodeRow[] = [];
  const usedZones = new Set<string>();
  // First pass: at most one node per zone (nodes without a zone count as their own zone).
  for (const c of candidates) {
    if (chosen.length >= options.count) break;
    const zone = c.node.zone ?? `node:${c.node.id}`;
    if (usedZones.has(zone)) continue;
    usedZones.add(zone);
    chosen.push(c.node);
  }
  // Second pass: fill up with the remaining best candidates.
  for (const c of candidates) {
    if (chosen.length >= options.count) break;
    if (!chosen.includes(c.node)) chosen.push(c.node);
  }
  return chosen;
}
