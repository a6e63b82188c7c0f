// A tiny in-memory network for message-level tests of the Raft core: every node's
// Ready is "persisted" at once (advance), its messages queued, and the queue is
// delivered until the cluster is quiet. Partitions are modelled by dropping
// messages between cut pairs; `held` nodes keep receiving but never process a Ready
// (a leader whose disk stalls). Deterministic: no timers, seeded randomness.

import {
  RawNode, createSeededRandom, validateRaftConfig,
  type Entry, type HardState, type InitialState, type Message, type NodeId, type RaftConfig,
  type RaftConfigInput, type ReadState, type SnapshotMeta,
} from '../../../raft/core/index.js';

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

export function testConfig(id: NodeId, overrides: Partial<RaftConfigInput> = {}, seed = 1): RaftConfig {
  return validateRaftConfig({
    id, electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 1,
    random: createSeededRandom(seed), ...overrides,
  });
}

export function entry(index: number, term: number, text = ''): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

/** Entries [from..to] all of `term`. */
export function entriesOf(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, `e${i}`));
  return out;
}

export interface NetOptions {
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly config?: Partial<RaftConfigInput>;
  /** Per-node starting state (defaults to an empty bootstrap). */
  readonly initial?: Partial<Record<NodeId, Partial<InitialState>>>;
}

export class Net {
  readonly nodes = new Map<NodeId, RawNode>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly installed = new Map<NodeId, SnapshotMeta[]>();
  /** Every message delivered or dropped, in order (for counting). */
  readonly sent: Message[] = [];
  readonly held = new Set<NodeId>();
  #queue: Message[] = [];
  #cut = new Set<string>();
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | null = null;

  constructor(options: NetOptions) {
    const all = [...options.voters, ...(options.learners ?? [])];
    all.forEach((id, i) => {
      const initial: InitialState = {
        hardState: EMPTY_HARD_STATE, snapshot: null, entries: [], applied: 0,
        bootstrapConfState: { voters: [...options.voters], learners: [...(options.learners ?? [])] },
        ...options.initial?.[id],
      };
      this.nodes.set(id, new RawNode(testConfig(id, options.config, 100 + i), initial));
      this.applied.set(id, []);
      this.readStates.set(id, []);
      this.installed.set(id, []);
    });
  }

  node(id: NodeId): RawNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Drop messages both ways between `id` and everyone else. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  heal(): void {
    this.#cut.clear();
  }

  /** Process one node's Ready (if any): record outputs, queue messages, advance. */
  process(id: NodeId): boolean {
    const node = this.node(id);
    if (this.held.has(id) || !node.hasReady()) return false;
    const ready = node.ready();
    if (ready.snapshot !== null) this.installed.get(id)?.push(ready.snapshot);
    this.applied.get(id)?.push(...ready.committedEntries);
    this.readStates.get(id)?.push(...ready.readStates);
    this.#queue.push(...ready.messages);
    node.advance();
    return true;
  }

  /** Process readies and deliver messages until nothing moves (bounded). */
  stabilize(roundsMax = 10_000): void {
    for (let round = 0; round < roundsMax; round++) {
      let moved = false;
      for (const id of this.nodes.keys()) while (this.process(id)) moved = true;
      moved = this.deliver() > 0 || moved;
      if (!moved) return;
    }
    throw new Error('network did not stabilize');
  }

  /** Deliver everything queued now; returns how many messages were delivered. */
  deliver(): number {
    const batch = this.#queue;
    this.#queue = [];
    let delivered = 0;
    for (const message of batch) {
      this.sent.push(message);
      if (this.#cut.has(`${message.from}|${message.to}`)) continue;
      if (this.filter !== null && !this.filter(message)) continue;
      this.nodes.get(message.to)?.step(message);
      delivered++;
    }
    return delivered;
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
  }

  /** Tick every node once, then stabilize; repeated `times`. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.stabilize();
    }
  }

  elect(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
    if (this.node(id).status().role !== 'leader') throw new Error(`${id} did not win the election`);
  }

  propose(id: NodeId, text: string): number {
    const result = this.node(id).propose(new TextEncoder().encode(text));
    if (!result.ok) throw new Error(`proposal refused: ${result.reason}`);
    return result.index;
  }

  sentOf(type: Message['type'], to?: NodeId): Message[] {
    return this.sent.filter((m) => m.type === type && (to === undefined || m.to === to));
  }
}
