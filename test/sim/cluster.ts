// A deterministic in-memory cluster that drives real RawNode cores exactly the
// way the production driver does (persist, send, apply, advance), with a global
// pool of in-flight messages, partitions, crashes and restarts. Every step is
// checked by the Invariants object.

import { RawNode, createSeededRandom, validateRaftConfig } from '../../raft/core/index.js';
import type { ConfState, Entry, HardState, Message, NodeId, Ready, SnapshotMeta } from '../../raft/core/index.js';
import { mayPrecedePersistence } from '../../raft/core/index.js';
import { Invariants } from './invariants.js';

export interface Disk {
  hardState: HardState;
  entries: Entry[];
  snapshot: { meta: SnapshotMeta; values: string[] } | null;
}

export interface SimNode {
  readonly id: NodeId;
  core: RawNode | null;
  disk: Disk;
  /** Applied values (the state machine), index of the last applied entry. */
  values: string[];
  applied: number;
  /** Ticks per `tick` command: clock skew. */
  rate: number;
  bootstrap: ConfState;
}

export interface InFlight {
  readonly seq: number;
  readonly message: Message;
  /** Snapshot data travelling beside a snapshot message. */
  readonly snapshotValues?: string[];
}

export interface SimOptions {
  readonly voters: number;
  /** Extra node ids that start outside the cluster (for membership changes). */
  readonly spares?: number;
  readonly seed: number;
  readonly snapshotEvery?: number;
  readonly snapshotKeep?: number;
  readonly electionTicksMin?: number;
  readonly electionTicksMax?: number;
  readonly heartbeatTicks?: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class SimCluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly ids: NodeId[];
  readonly initialVoters: NodeId[];
  pool: InFlight[] = [];
  /** Blocked directed links "from>to". */
  readonly blocked = new Set<string>();
  readonly check = new Invariants(this);
  readonly options: Required<SimOptions>;
  #seq = 0;
  #proposalSeq = 0;
  #random: () => number;
  /** Its own stream, so adding it did not change the paths other seeds take. */
  #early: () => number;

  constructor(options: SimOptions) {
    this.options = {
      spares: 0, snapshotEvery: 12, snapshotKeep: 3, electionTicksMin: 4, electionTicksMax: 8, heartbeatTicks: 1,
      ...options,
    };
    this.#random = createSeededRandom(options.seed ^ 0x5eed);
    this.#early = createSeededRandom(options.seed ^ 0xea71);
    this.initialVoters = Array.from({ length: options.voters }, (_, i) => `n${i + 1}`);
    this.ids = Array.from({ length: options.voters + this.options.spares }, (_, i) => `n${i + 1}`);
    const bootstrap: ConfState = { voters: this.initialVoters, learners: [] };
    for (const id of this.ids) {
      const node: SimNode = {
        id, core: null, values: [], applied: 0, rate: 1, bootstrap,
        disk: { hardState: { term: 0, vote: null, commit: 0 }, entries: [], snapshot: null },
      };
      this.nodes.set(id, node);
      if (this.initialVoters.includes(id)) this.#boot(node);
    }
  }

  // ---- lifecycle ---------------------------------------------------------------

  #boot(node: SimNode): void {
    const { disk } = node;
    node.values = disk.snapshot ? [...disk.snapshot.values] : [];
    node.applied = disk.snapshot?.meta.index ?? 0;
    const config = validateRaftConfig({
      id: node.id,
      electionTicksMin: this.options.electionTicksMin,
      electionTicksMax: this.options.electionTicksMax,
      heartbeatTicks: this.options.heartbeatTicks,
      random: createSeededRandom(Math.floor(this.#random() * 2 ** 31)),
      inflightMessagesMax: 4,
      appendEntriesMax: 8,
      appendBytesMax: 256,
      persistStallTicksMax: this.options.electionTicksMax * 2,
    });
    node.core = new RawNode(config, {
      hardState: disk.hardState,
      snapshot: disk.snapshot?.meta ?? null,
      entries: disk.entries.filter((e) => e.index > (disk.snapshot?.meta.index ?? 0)),
      bootstrapConfState: node.bootstrap,
      applied: node.applied,
    });
    this.check.afterRestart(node);
  }

  isUp(id: NodeId): boolean {
    return this.nodes.get(id)?.core !== null;
  }

  upIds(): NodeId[] {
    return this.ids.filter((id) => this.isUp(id));
  }

  /** Crash: volatile state is gone; only the disk survives. */
  crash(id: NodeId): void {
    const node = this.nodes.get(id)!;
    node.core = null;
    for (const item of this.pool.filter((m) => m.message.to === id)) this.#lost(item);
    this.pool = this.pool.filter((m) => m.message.to !== id);
  }

  /** A message that will never arrive: the sender's transport reports a failed snapshot. */
  #lost(item: InFlight): void {
    if (item.message.type !== 'snapshot') return;
    const sender = this.nodes.get(item.message.from);
    if (sender?.core == null) return;
    sender.core.reportSnapshot(item.message.to, false);
    this.process(sender.id);
  }

  /**
   * Crash in the middle of a Ready: leader messages that may precede persistence
   * went out, only `keepEntries` of the new entries (and maybe the hard state)
   * reached the disk, nothing else happened.
   */
  crashMidReady(id: NodeId, keepEntries: number, keepHardState: boolean): void {
    const node = this.nodes.get(id)!;
    const core = node.core;
    if (core === null) return;
    if (core.hasReady()) {
      const ready = core.ready();
      this.#sendAll(node, ready.messages.filter(mayPrecedePersistence));
      if (ready.snapshot === null) {
        this.#persist(node, { ...ready, hardState: keepHardState ? ready.hardState : null, entries: ready.entries.slice(0, keepEntries) });
      }
    }
    this.crash(id);
  }

  restart(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.core !== null) return;
    this.#boot(node);
  }

  /** Bring a spare into existence (empty disk) so it can be added as a learner. */
  startSpare(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.core === null && node.disk.hardState.term === 0 && node.disk.entries.length === 0) this.#boot(node);
  }

  // ---- inputs ------------------------------------------------------------------

  tick(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.core === null) return;
    for (let i = 0; i < node.rate; i++) node.core.tick();
    // Like the driver on a tick while a Ready is still being persisted: a leader's
    // heartbeats and appends go out ahead of the Ready loop (half of the time here).
    if (this.#early() < 0.5) this.#sendAll(node, node.core.takeLeaderMessages());
    this.process(id);
  }

  tickAll(): void {
    for (const id of this.upIds()) this.tick(id);
  }

  propose(id: NodeId): string | null {
    const node = this.nodes.get(id)!;
    if (node.core === null) return null;
    const value = `v${++this.#proposalSeq}`;
    const result = node.core.propose(encoder.encode(value));
    if (result.ok) this.check.proposed(value, id, result.index, result.term);
    this.process(id);
    return result.ok ? value : null;
  }

  read(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.core === null) return;
    const context = `read-${++this.#proposalSeq}`;
    if (node.core.readIndex(context).ok) this.check.readStarted(context, id);
    this.process(id);
  }

  // ---- network -----------------------------------------------------------------

  #linkOpen(from: NodeId, to: NodeId): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  deliver(position: number): void {
    if (this.pool.length === 0) return;
    const [item] = this.pool.splice(position % this.pool.length, 1);
    const { message } = item;
    const target = this.nodes.get(message.to);
    if (target?.core == null || !this.#linkOpen(message.from, message.to)) {
      this.#lost(item);
      return;
    }
    if (message.type === 'snapshot' && item.snapshotValues !== undefined) {
      target.core.step(message);
      this.#stashIncomingSnapshot(target, message.snapshot, item.snapshotValues);
      const sender = this.nodes.get(message.from);
      sender?.core?.reportSnapshot(message.to, true);
      if (sender?.core) this.process(sender.id);
    } else {
      target.core.step(message);
    }
    this.process(target.id);
  }

  drop(position: number): void {
    if (this.pool.length === 0) return;
    const [item] = this.pool.splice(position % this.pool.length, 1);
    this.#lost(item);
  }

  duplicate(position: number): void {
    if (this.pool.length === 0) return;
    const item = this.pool[position % this.pool.length];
    this.pool.push({ ...item, seq: ++this.#seq });
  }

  /** Deliver everything deliverable until quiet (bounded). */
  deliverAll(maxMessages = 5000): void {
    for (let n = 0; n < maxMessages && this.pool.length > 0; n++) this.deliver(0);
  }

  partition(groups: readonly NodeId[][]): void {
    this.blocked.clear();
    for (const a of this.ids) {
      for (const b of this.ids) {
        if (a === b) continue;
        const together = groups.some((g) => g.includes(a) && g.includes(b));
        if (!together) this.blocked.add(`${a}>${b}`);
      }
    }
  }

  blockOneWay(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  // ---- the driver loop -----------------------------------------------------------

  /** Handle every Ready of `id` the way raft/server.ts does. */
  process(id: NodeId): void {
    const node = this.nodes.get(id)!;
    for (let guard = 0; guard < 100 && node.core !== null && node.core.hasReady(); guard++) {
      const core = node.core;
      const ready = core.ready();
      this.#sendAll(node, ready.messages.filter(mayPrecedePersistence));
      if (ready.snapshot !== null) this.#install(node, ready.snapshot);
      // Like the driver: committed entries already durable here are applied while this
      // Ready's entries are written, and messages arriving meanwhile may commit more.
      const firstNew = ready.entries.length > 0 ? ready.entries[0].index : Infinity;
      const split = ready.committedEntries.findIndex((e) => e.index >= firstNew || e.type === 'confChange');
      const early = split < 0 ? ready.committedEntries : ready.committedEntries.slice(0, split);
      this.#apply(node, early);
      if (this.#early() < 0.5) this.#arriveWhilePersisting(node, core);
      this.#persist(node, ready);
      this.#sendAll(node, ready.messages.filter((m) => !mayPrecedePersistence(m)));
      this.#apply(node, ready.committedEntries.slice(early.length));
      for (const read of ready.readStates) this.check.readGranted(read.context, read.index, node);
      core.advance();
      this.check.afterAdvance(node);
      this.#maybeSnapshot(node);
    }
  }

  /**
   * A few in-flight messages for `node` arrive while its Ready is being written: they are
   * stepped without a Ready of their own, leader traffic goes out at once, and committed
   * entries that are durable here are taken and applied (raft/server.ts #whilePersisting).
   */
  #arriveWhilePersisting(node: SimNode, core: RawNode): void {
    const count = Math.floor(this.#early() * 4);
    for (let i = 0; i < count; i++) {
      const position = this.pool.findIndex((item) => item.message.to === node.id && item.message.type !== 'snapshot');
      if (position < 0) break;
      const [item] = this.pool.splice(position, 1);
      if (!this.#linkOpen(item.message.from, item.message.to)) continue;
      core.step(item.message);
    }
    this.#sendAll(node, core.takeLeaderMessages());
    const taken = core.takeCommitted();
    this.#apply(node, taken.entries);
    for (const read of taken.readStates) this.check.readGranted(read.context, read.index, node);
  }

  #sendAll(node: SimNode, messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.type === 'snapshot') {
        const snap = node.disk.snapshot;
        if (snap === null || snap.meta.index !== message.snapshot.index) {
          node.core?.reportSnapshot(message.to, false);
          continue;
        }
        this.pool.push({ seq: ++this.#seq, message, snapshotValues: [...snap.values] });
      } else {
        this.pool.push({ seq: ++this.#seq, message });
      }
    }
  }

  #persist(node: SimNode, ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'>): void {
    const { disk } = node;
    if (ready.hardState !== null) {
      this.check.persistHardState(node, ready.hardState);
      disk.hardState = ready.hardState;
    }
    if (ready.entries.length > 0) {
      const first = ready.entries[0].index;
      disk.entries = disk.entries.filter((e) => e.index < first).concat(ready.entries);
    }
  }

  /** Incoming snapshot data is kept until the core asks to install it. */
  readonly #incoming = new Map<NodeId, { meta: SnapshotMeta; values: string[] }>();

  #stashIncomingSnapshot(node: SimNode, meta: SnapshotMeta, values: string[]): void {
    this.#incoming.set(node.id, { meta, values });
  }

  #install(node: SimNode, meta: SnapshotMeta): void {
    const incoming = this.#incoming.get(node.id);
    if (incoming === undefined || incoming.meta.index !== meta.index) throw new Error(`no snapshot data for ${meta.index}`);
    this.#incoming.delete(node.id);
    this.check.snapshotInstalled(node, meta, incoming.values);
    node.disk.snapshot = { meta, values: [...incoming.values] };
    node.disk.entries = [];
    node.values = [...incoming.values];
    node.applied = meta.index;
  }

  #apply(node: SimNode, entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.index !== node.applied + 1) throw new Error(`${node.id} applies ${entry.index} after ${node.applied}`);
      node.applied = entry.index;
      const value = entry.type === 'normal' && entry.data.length > 0 ? decoder.decode(entry.data) : null;
      if (value !== null) node.values.push(value);
      this.check.applied(node, entry, value);
    }
  }

  #maybeSnapshot(node: SimNode): void {
    const core = node.core;
    if (core === null) return;
    const last = node.disk.snapshot?.meta.index ?? 0;
    if (node.applied - last < this.options.snapshotEvery) return;
    const meta = core.compact(node.applied, this.options.snapshotKeep);
    node.disk.snapshot = { meta, values: [...node.values] };
    const firstKept = core.status().firstIndex;
    node.disk.entries = node.disk.entries.filter((e) => e.index >= firstKept);
  }

  // ---- views -------------------------------------------------------------------

  leaders(): NodeId[] {
    return this.upIds().filter((id) => this.nodes.get(id)!.core!.status().role === 'leader');
  }

  /** The leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const id of this.leaders()) {
      const term = this.nodes.get(id)!.core!.status().term;
      if (best === null || term > best.term) best = { id, term };
    }
    return best?.id ?? null;
  }
}
