// ReadIndex bookkeeping on the leader (thesis §6.4): each request remembers the
// commit index when it arrived and collects heartbeat acknowledgements for its
// context; once a majority acknowledged, it and every earlier request are safe.
// Leaf module.

import type { NodeId } from './types.js';

export interface ReadRequest {
  readonly context: string;
  /** Who asked: this node, or a follower to answer with readIndexResponse. */
  readonly from: NodeId;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

export class ReadOnlyQueue {
  #queue: ReadRequest[] = [];

  get size(): number {
    return this.#queue.length;
  }

  add(context: string, from: NodeId, index: number, self: NodeId): void {
    if (this.#queue.some((r) => r.context === context)) return;
    this.#queue.push({ context, from, index, acks: new Set([self]) });
  }

  lastContext(): string | null {
    return this.#queue.length === 0 ? null : this.#queue[this.#queue.length - 1].context;
  }

  /** Record an acknowledgement; returns the request's ack set, or null if unknown. */
  ack(context: string, from: NodeId): ReadonlySet<NodeId> | null {
    const request = this.#queue.find((r) => r.context === context);
    if (request === undefined) return null;
    request.acks.add(from);
    return request.acks;
  }

  /** Remove and return every request up to and including `context`. */
  releaseThrough(context: string): ReadRequest[] {
    const at = this.#queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const released = this.#queue.slice(0, at + 1);
    this.#queue = this.#queue.slice(at + 1);
    return released;
  }

  drain(): ReadRequest[] {
    const all = this.#queue;
    this.#queue = [];
    return all;
  }
}
