// The Raft driver: owns the tick timer and the Ready loop around the pure core.
//
// The loop, one Ready at a time (etcd's rule: persist before you send):
//   1. leader messages that may precede persistence go out at once;
//   2. an incoming snapshot is installed into the state machine;
//   3. hard state + entries (+ snapshot marker) are fsynced — one fsync for
//      everything that accumulated while the previous Ready was processed, which
//      is the group commit;
//   4. the remaining messages (votes, acknowledgements) are sent;
//   5. committed entries are applied, proposals and reads are settled;
//   6. advance(); maybe take a snapshot and compact.
// A storage failure stops the loop at step 3 and retries with backoff: nothing
// is acknowledged, the node reports unhealthy, a leader steps down through the
// core's persist-stall rule, and it resumes when the disk works again.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { RawNode, createSeededRandom, decodeConfChange, validateRaftConfig } from './core/index.js';
import type { ConfChange, Entry, Message, NodeId, Ready, RefusalReason, SnapshotMessage } from './core/types.js';
import { mayPrecedePersistence } from './core/types.js';
import { AddressBook } from './driver/address-book.js';
import { coreConfig, planTicks, type RaftNodeOptions, type TickPlan } from './driver/options.js';
import { PendingProposals } from './driver/proposals.js';
import { ReadPath } from './driver/read-path.js';
import { recoverInitialState } from './driver/recover.js';
import { SNAPSHOT_DIR, WAL_DIR } from './driver/seed.js';
import { SnapshotPolicy } from './driver/snapshot-policy.js';
import { RaftError, type MemberChange, type NodeStatus, type PeerEndpoint, type RaftNodeHandle } from './node-api.js';
import { RaftLogStore, SnapshotStore } from './storage/index.js';
import { PeerTransport, registerRaftRoutes } from './transport/index.js';
import type { SnapshotFile } from './state-machine.js';

export type { RaftNodeOptions } from './driver/options.js';

/** Hooks for metrics; every field optional. */
export interface RaftObserver {
  onPersist?(seconds: number, entries: number): void;
  /** The core handed over `entries` newly committed entries (any proposer), before they are applied. */
  onCommit?(entries: number): void;
  onApply?(seconds: number, entries: number): void;
  onCommitLatency?(seconds: number): void;
  onSnapshot?(seconds: number, bytes: number): void;
  /** A snapshot from the leader replaced the state machine. */
  onSnapshotInstalled?(index: number): void;
  onProposalFailed?(code: string): void;
  /** This node started a ReadIndex round (one per batch of reads). */
  onReadRound?(): void;
  /** A lease read was answered from this leader's read lease, without a round. */
  onLeaseRead?(): void;
}

const STORAGE_RETRY_MS = 500;

export class RaftNode implements RaftNodeHandle {
  readonly id: NodeId;
  readonly #options: RaftNodeOptions;
  readonly #plan: TickPlan;
  readonly #core: RawNode;
  readonly #storage: RaftLogStore;
  readonly #snapshots: SnapshotStore;
  readonly #transport: PeerTransport;
  /** The snapshot being taken (automatic or asked for), so two never run at once. */
  #snapshotting: Promise<void> | null = null;
  /** When a leader's append, heartbeat or snapshot last arrived (ms since the epoch; 0: never). */
  #leaderContactAt = 0;
  readonly #book: AddressBook;
  readonly #proposals = new PendingProposals();
  readonly #reads: ReadPath;
  readonly #policy: SnapshotPolicy;
  readonly #listeners = new Set<(leader: NodeId | null, term: number) => void>();
  readonly #observer: RaftObserver;
  #ticker: NodeJS.Timeout | null = null;
  #scheduled = false;
  #exclusiveWaiting = 0;
  #running: Promise<void> | null = null;
  /** True while the Ready loop waits for its log write: arriving commits are applied meanwhile. */
  #persisting = false;
  /** A membership change was applied: refresh the transport's peers after the next advance(). */
  #peersStale = false;
  /** Proposal waiters to settle right after the next advance() (batches with a membership change). */
  readonly #afterAdvance: (() => void)[] = [];
  /** Applies run one after another, in log order, whichever path took the entries. */
  #applyChain: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Why the Ready loop failed, if it did: writes are refused from then on. */
  #fatal: Error | null = null;
  #leader: NodeId | null = null;
  #storageError: string | null = null;

  constructor(parts: {
    options: RaftNodeOptions; plan: TickPlan; core: RawNode; storage: RaftLogStore; snapshots: SnapshotStore;
    transport: PeerTransport; book: AddressBook; observer: RaftObserver;
  }) {
    this.id = parts.options.id;
    this.#options = parts.options;
    this.#plan = parts.plan;
    this.#core = parts.core;
    this.#storage = parts.storage;
    this.#snapshots = parts.snapshots;
    this.#transport = parts.transport;
    this.#book = parts.book;
    this.#observer = parts.observer;
    this.#reads = new ReadPath({
      id: this.id, core: this.#core, appliedIndex: () => this.#options.stateMachine.appliedIndex(), schedule: () => this.#schedule(),
      refusal: (reason, leader) => this.#refusal(reason, leader), roundWaitMs: this.#options.electionTimeoutMinMs,
      tickMs: this.#plan.tickMs, electionTicksMin: this.#plan.electionTicksMin,
      onReadRound: () => this.#observer.onReadRound?.(), onLeaseRead: () => this.#observer.onLeaseRead?.(),
    });
    this.#policy = new SnapshotPolicy({
      threshold: parts.options.snapshotThreshold,
      tailEntries: parts.options.snapshotTailEntries,
      lastIndex: parts.core.status().snapshotIndex,
      ...(parts.options.snapshotThresholdBytes === undefined ? {} : { thresholdBytes: parts.options.snapshotThresholdBytes }),
      ...(parts.options.snapshotTailBytesMax === undefined ? {} : { tailBytesMax: parts.options.snapshotTailBytesMax }),
    });
  }

  /** Mount the peer RPC routes on the node's HTTP server (before it listens). */
  mount(app: FastifyInstance): void {
    registerRaftRoutes(app, {
      selfId: this.id,
      clusterSecret: this.#options.clusterSecret,
      logger: this.#options.logger,
      snapshotDir: join(this.#options.dataDir, 'snapshots-incoming'),
      onMessages: (messages) => this.#receive(messages),
      onContact: (peer) => this.#transport.noteContact(peer),
      onSnapshot: (message, path, addresses) => this.#receiveSnapshot(message, path, addresses),
      requireClientCert: this.#options.tls?.ca !== undefined,
    });
  }

  start(): void {
    this.#ticker = setInterval(() => {
      this.#core.tick();
      this.#sendWhileBusy();
      this.#schedule();
      // A snapshot held back by its pace is taken once the pace allows, even if nothing is applied by then.
      if (this.#fatal === null && !this.#stopped && this.#running === null && this.#policy.due(this.#options.stateMachine.appliedIndex())) {
        void this.#startSnapshot();
      }
    }, this.#plan.tickMs);
    this.#schedule();
  }

  // ---- client requests -------------------------------------------------------

  async propose(data: Uint8Array, options?: { timeoutMs?: number }): Promise<{ index: number; result: unknown }> {
    this.#assertWritable();
    const result = this.#core.propose(data);
    if (!result.ok) throw this.#refusal(result.reason, result.leader);
    this.#schedule();
    const startedAt = performance.now();
    try {
      const outcome = await this.#proposals.wait(result.index, result.term, options?.timeoutMs ?? this.#options.requestTimeoutMs);
      this.#observer.onCommitLatency?.((performance.now() - startedAt) / 1000);
      return outcome;
    } catch (error) {
      this.#observer.onProposalFailed?.(error instanceof RaftError ? error.code : 'CONCORD_ERR_INTERNAL');
      throw error;
    }
  }

  /** See ReadPath.barrier: a read index once applied here; `lease` answers from a leader's read lease when it holds one. */
  readBarrier(options?: { timeoutMs?: number; lease?: boolean }): Promise<number> {
    if (this.#stopped) return Promise.reject(new RaftError('CONCORD_ERR_STOPPED', 'node is stopping'));
    return this.#reads.barrier(options?.timeoutMs ?? this.#options.requestTimeoutMs, options?.lease === true);
  }

  isLeader(): boolean {
    return this.#core.status().role === 'leader';
  }

  leader(): PeerEndpoint | null {
    const id = this.#core.status().leader;
    return id === null ? null : this.#book.get(id);
  }

  status(): NodeStatus {
    const core = this.#core.status();
    const transport = this.#transport.stats();
    const storage = this.#storage.stats();
    const progress = new Map(core.progress.map((p) => [p.id, p]));
    const peers = this.#book.peersOf(core.confState).map((peer) => {
      const p = progress.get(peer.id);
      const t = transport[peer.id];
      return {
        ...peer,
        voter: core.confState.voters.includes(peer.id),
        matchIndex: p?.match ?? null,
        lastContactMs: t?.lastContactAt ? Date.now() - t.lastContactAt : null,
        rttMs: t?.lastRttMs ?? null,
        messagesSent: t?.sent ?? 0,
        framesSent: t?.frames ?? 0,
      };
    });
    return {
      ...core,
      applied: this.#options.stateMachine.appliedIndex(),
      peers,
      leaderEndpoint: this.leader(),
      storage: { healthy: this.#storageError === null && storage.healthy, error: this.#storageError, logBytes: storage.bytes },
      snapshotInProgress: this.#policy.inProgress,
      pendingProposals: this.#proposals.size,
      pendingReads: this.#reads.pending,
      durableIndex: this.#options.stateMachine.durableIndex(),
      leaderContactAgeMs: this.#leaderContactAge(core.role, core.leader),
    };
  }

  readPosition(): { commit: number; leaderContactAgeMs: number | null } {
    const core = this.#core.status();
    return { commit: core.commit, leaderContactAgeMs: this.#leaderContactAge(core.role, core.leader) };
  }

  #leaderContactAge(role: string, leader: NodeId | null): number | null {
    if (role === 'leader') return 0;
    return leader === null || this.#leaderContactAt === 0 ? null : Date.now() - this.#leaderContactAt;
  }

  async transferLeadership(target?: NodeId, options?: { timeoutMs?: number }): Promise<NodeId> {
    const chosen = target ?? this.#mostCaughtUpVoter();
    if (chosen === null) throw new RaftError('CONCORD_ERR_INVALID_CONF_CHANGE', 'no other voter to transfer to');
    if (this.#core.status().leader === chosen) return chosen;
    const result = this.#core.transferLeader(chosen);
    if (!result.ok) throw this.#refusal(result.reason, result.leader);
    this.#schedule();
    await this.#waitFor(() => this.#core.status().leader === chosen,
      options?.timeoutMs ?? this.#plan.tickMs * this.#plan.electionTicksMax * 3, `leadership did not move to ${chosen}`);
    return chosen;
  }

  async addMember(member: MemberChange, options?: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? this.#options.requestTimeoutMs * 4;
    const address = `${member.host}:${member.port}`;
    const conf = this.#core.status().confState;
    if (!conf.learners.includes(member.id) && !conf.voters.includes(member.id)) {
      await this.#changeMembership({ type: 'addLearner', node: member.id, address }, timeoutMs);
    }
    await this.#waitFor(() => {
      const s = this.#core.status();
      const p = s.progress.find((x) => x.id === member.id);
      return p !== undefined && p.match >= s.commit;
    }, timeoutMs, `learner ${member.id} did not catch up`);
    if (!this.#core.status().confState.voters.includes(member.id)) {
      await this.#changeMembership({ type: 'promote', node: member.id }, timeoutMs);
    }
  }

  async removeMember(id: NodeId, options?: { timeoutMs?: number }): Promise<void> {
    await this.#changeMembership({ type: 'remove', node: id }, options?.timeoutMs ?? this.#options.requestTimeoutMs * 2);
  }

  async snapshotNow(): Promise<{ index: number; path: string; bytes: number }> {
    // The same path as the automatic snapshots (copy beside the loop), one at a time: wait
    // until none runs (another caller or the loop may start one meanwhile), then start ours
    // in the same turn as the check.
    while (this.#snapshotting !== null) await this.#snapshotting;
    await this.#startSnapshot();
    const latest = this.#snapshots.latest();
    if (latest === null) throw new RaftError('CONCORD_ERR_STORAGE_IO', 'snapshot was not recorded');
    return { index: latest.meta.index, path: latest.path, bytes: latest.bytes };
  }

  /** WAL counters (fsyncs, entries synced, bytes) for benchmarks and metrics. */
  storageStats(): ReturnType<RaftLogStore['stats']> {
    return this.#storage.stats();
  }

  latestSnapshot(): { index: number; term: number; path: string; bytes: number } | null {
    const latest = this.#snapshots.latest();
    return latest === null ? null : { index: latest.meta.index, term: latest.meta.term, path: latest.path, bytes: latest.bytes };
  }

  logEntries(from: number, limit: number): readonly { index: number; term: number; type: string; bytes: number }[] {
    return this.#core.entries(from, from + limit).map((e) => ({ index: e.index, term: e.term, type: e.type, bytes: e.data.length }));
  }

  onLeaderChange(listener: (leader: NodeId | null, term: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(options?: { transfer?: boolean }): Promise<void> {
    if (this.#stopped) return;
    if (options?.transfer === true && this.isLeader() && this.#mostCaughtUpVoter() !== null) {
      try {
        await this.transferLeadership(undefined, { timeoutMs: this.#plan.tickMs * this.#plan.electionTicksMax * 2 });
      } catch (error) {
        this.#options.logger.warn({ err: error }, 'leadership transfer before stop failed');
      }
    }
    this.#stopped = true;
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#reads.halt(); // no read round starts from now on
    await this.#running;
    // A snapshot under way commits (or fails) before the storage and the state machine close.
    await this.#snapshotting;
    // Applies taken while a write was under way finish before the caller closes the state machine.
    await this.#applyChain.catch(() => undefined);
    const stopped = new RaftError('CONCORD_ERR_STOPPED', 'node stopped');
    this.#proposals.failAll(stopped);
    this.#reads.failAll(stopped);
    await this.#transport.close();
    await this.#storage.close();
  }

  // ---- the Ready loop --------------------------------------------------------

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#running !== null) return;
      this.#running = this.#drain().catch((error: unknown) => {
        if (this.#stopped) return;
        this.#options.logger.fatal({ err: error }, 'raft loop failed; this node cannot go on');
        this.#fatal = error instanceof Error ? error : new Error(String(error));
        this.#options.onFatal?.(this.#fatal);
      }).finally(() => {
        this.#running = null;
        // Input that arrived while the last batch was finishing must not be lost.
        if (this.#core.hasReady()) this.#schedule();
      });
    });
  }

  /**
   * On each tick while a Ready is being persisted or applied, a leader's heartbeats and
   * appends (`takeLeaderMessages`; snapshots and TimeoutNow wait for the Ready) go out at once instead of waiting
   * for the loop: a slow fsync must not look like a dead leader. A disk that stays stuck still makes the leader
   * step down (the core's persist-stall rule).
   */
  #sendWhileBusy(): void {
    if (this.#running === null) return;
    const early = this.#core.takeLeaderMessages();
    if (early.length > 0) this.#send(early);
  }

  async #drain(): Promise<void> {
    // Yield to exclusive work (a snapshot commit) so a busy loop cannot starve it.
    while (!this.#stopped && this.#core.hasReady() && this.#exclusiveWaiting === 0) {
      await this.#handleReady(this.#core.ready());
    }
  }

  /** Run `work` between Ready batches (the core is quiescent with respect to the driver). */
  async #exclusive(work: () => Promise<void>): Promise<void> {
    this.#exclusiveWaiting++;
    try {
      while (this.#running !== null) await this.#running;
    } finally {
      this.#exclusiveWaiting--;
    }
    const done = work();
    this.#running = done.finally(() => { this.#running = null; this.#schedule(); });
    await this.#running;
  }

  async #handleReady(ready: Ready): Promise<void> {
    if (ready.softState !== null) this.#leaderChanged(ready.softState.leader);
    const early = ready.messages.filter(mayPrecedePersistence);
    const late = ready.messages.filter((m) => !mayPrecedePersistence(m));
    this.#send(early);
    if (ready.snapshot !== null) await this.#installSnapshot(ready.snapshot.index);
    // Committed entries written by an earlier Ready are applied while this one's entries
    // are written; the rest (a follower's, committed in the same append) wait for the write.
    // A membership change is applied right before the advance() that makes it take effect
    // in the core, so whoever waits for it sees the new configuration.
    const firstNew = ready.entries.length > 0 ? ready.entries[0].index : Infinity;
    const split = ready.committedEntries.findIndex((e) => e.index >= firstNew || e.type === 'confChange');
    const durable = split < 0 ? ready.committedEntries : ready.committedEntries.slice(0, split);
    this.#persisting = true;
    try {
      // The write is queued first: the apply is synchronous CPU work, and queued first it
      // would run before the log store's flush could hand the write to the thread pool (as it
      // still does when the store must first open a new segment or finish a compaction).
      const persisted = this.#persist(ready);
      this.#applyInOrder(durable);
      await persisted;
    } finally {
      this.#persisting = false;
    }
    this.#send(late);
    if (split >= 0) this.#applyInOrder(ready.committedEntries.slice(split));
    // Everything taken so far must be applied before advance() acknowledges it.
    // (Nothing joins the chain now: only this Ready and #whilePersisting, which stopped with the write, add to it.)
    await this.#applyChain;
    this.#reads.granted(ready.readStates);
    this.#core.advance();
    for (const settle of this.#afterAdvance.splice(0)) settle();
    if (this.#peersStale) {
      this.#peersStale = false;
      this.#transport.setPeers(this.#book.peersOf(this.#core.status().confState));
    }
    if (this.#policy.due(this.#options.stateMachine.appliedIndex())) void this.#startSnapshot();
  }

  async #persist(ready: Ready): Promise<void> {
    if (ready.hardState === null && ready.entries.length === 0 && ready.snapshot === null) return;
    const startedAt = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#storage.persist({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
        if (this.#storageError !== null) this.#options.logger.info('storage recovered; accepting writes again');
        this.#storageError = null;
        break;
      } catch (error) {
        if (this.#stopped) throw error;
        const message = error instanceof Error ? error.message : String(error);
        if (attempt === 0) this.#options.logger.error({ err: error }, 'persisting the log failed; writes refused until it recovers');
        // New proposals are refused meanwhile; pending ones stay pending: the retry may still
        // persist and commit them, so only their own timeout may answer "outcome unknown".
        this.#storageError = message;
        await new Promise((resolve) => setTimeout(resolve, STORAGE_RETRY_MS));
        await this.#storage.recover().catch(() => undefined);
      }
    }
    this.#observer.onPersist?.((performance.now() - startedAt) / 1000, ready.entries.length);
  }

  /** Run `work` after everything already on the apply chain (applies stay in log order). */
  #chain(work: () => Promise<void> | void): void {
    this.#applyChain = this.#applyChain.then(work);
    // Awaited by the Ready loop, which reports a failure; no unhandled rejection meanwhile.
    this.#applyChain.catch(() => undefined);
  }

  #applyInOrder(entries: readonly Entry[]): void {
    if (entries.length > 0) this.#chain(() => this.#apply(entries));
  }

  /**
   * Messages stepped while the Ready loop waits for its log write: a leader's follow-up
   * appends go out now, and entries the acknowledgements committed (durable here
   * already) are applied and answered now instead of after this node's next fsync.
   */
  #whilePersisting(): void {
    this.#sendWhileBusy();
    const { entries, readStates } = this.#core.takeCommitted();
    this.#applyInOrder(entries);
    if (readStates.length > 0) this.#chain(() => this.#reads.granted(readStates));
  }

  async #apply(entries: readonly Entry[]): Promise<void> {
    this.#observer.onCommit?.(entries.length);
    const startedAt = performance.now();
    const results = await this.#options.stateMachine.apply(entries);
    this.#observer.onApply?.((performance.now() - startedAt) / 1000, entries.length);
    let bytes = 0;
    let changes = false;
    for (const entry of entries) {
      bytes += entry.data.length;
      if (entry.type === 'confChange') {
        this.#confChangeApplied(entry);
        changes = true;
      }
    }
    this.#policy.applied(bytes);
    // Whoever waits for a membership change must see it in status(): the core takes it on
    // advance(), so those waiters are settled right after it (changes only come through a Ready).
    if (changes) this.#afterAdvance.push(() => this.#proposals.applied(entries, results));
    else this.#proposals.applied(entries, results);
    this.#reads.applied(this.#options.stateMachine.appliedIndex());
  }

  #confChangeApplied(entry: Entry): void {
    let change: ConfChange;
    try {
      change = decodeConfChange(entry.data);
    } catch (error) {
      this.#options.logger.error({ err: error, index: entry.index }, 'undecodable membership change in the log');
      return;
    }
    if (change.address !== undefined) this.#book.learn(change.node, change.address);
    // The core applies the change on advance(); peers are refreshed from the resulting conf state right after.
    this.#peersStale = true;
    this.#options.logger.info({ change, index: entry.index }, 'membership change applied');
  }

  #send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const plain: Message[] = [];
    for (const message of messages) {
      if (message.type === 'snapshot') this.#sendSnapshot(message);
      else plain.push(message);
      // The target may be elected at once, whatever the voters' leases: no read lease for the rest of this term.
      if (message.type === 'timeoutNow') this.#reads.sentTimeoutNow(message.term);
    }
    if (plain.length > 0) this.#transport.send(plain);
  }

  #sendSnapshot(message: SnapshotMessage): void {
    const latest = this.#snapshots.latest();
    if (latest === null || latest.meta.index !== message.snapshot.index) {
      this.#core.reportSnapshot(message.to, false);
      this.#schedule();
      return;
    }
    this.#options.logger.info({ peer: message.to, index: latest.meta.index, bytes: latest.bytes }, 'sending snapshot');
    void this.#transport.sendSnapshot(message, { path: latest.path, bytes: latest.bytes, checksum: latest.checksum, addresses: latest.addresses })
      .catch(() => false)
      .then((ok) => {
        this.#core.reportSnapshot(message.to, ok);
        this.#schedule();
      });
  }

  // ---- snapshots -------------------------------------------------------------

  /**
   * Snapshot in the background: the state machine copies itself (in Concord: flush,
   * CHECKPOINT, file copy under the flush lock) while the loop keeps persisting and
   * applying; only the short commit (compact the core and the WAL) runs between Ready
   * batches. Blocking the loop for the copy (150–180 ms under load) cost elections.
   */
  #startSnapshot(): Promise<void> {
    this.#policy.started();
    const startedAt = performance.now();
    const temp = this.#snapshots.newTempPath();
    // The pace counts the snapshot's own work: the copy, and the commit without its wait for the loop.
    let copyMs: number | null = null;
    let commitMs = 0;
    const run = this.#options.stateMachine.createSnapshot(temp)
      .then((file) => {
        copyMs = performance.now() - startedAt;
        return this.#exclusive(async () => {
          const commitStart = performance.now();
          try {
            await this.#commitSnapshot(file, temp, startedAt);
          } finally {
            commitMs = performance.now() - commitStart;
          }
        });
      })
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'snapshot failed'))
      .finally(() => {
        this.#policy.finished((copyMs ?? performance.now() - startedAt) + commitMs, performance.now());
        this.#snapshotting = null;
      });
    this.#snapshotting = run;
    return run;
  }

  async #commitSnapshot(file: SnapshotFile, temp: string, startedAt: number): Promise<void> {
    // A newer snapshot (installed from the leader, or taken meanwhile) makes this one useless.
    if (file.index <= this.#core.status().snapshotIndex) {
      await rm(temp, { force: true });
      return;
    }
    const tail = this.#core.entries(Math.max(1, file.index - this.#policy.tailEntries + 1), file.index + 1);
    const keep = this.#policy.keep(tail.map((entry) => entry.data.length));
    const meta = this.#core.compact(file.index, keep);
    await this.#snapshots.commit(temp, meta, this.#book.addressesOf(meta.confState));
    const through = Math.min(file.index - keep, this.#options.stateMachine.durableIndex());
    if (through > 0) await this.#storage.compact(through, meta);
    this.#policy.taken(file.index);
    this.#observer.onSnapshot?.((performance.now() - startedAt) / 1000, file.bytes);
    this.#options.logger.info({ index: file.index, bytes: file.bytes, compactedThrough: through }, 'snapshot taken');
  }

  async #receiveSnapshot(message: SnapshotMessage, path: string, addresses: Readonly<Record<string, string>>): Promise<void> {
    await this.#snapshots.commit(path, message.snapshot, addresses);
    this.#book.learnFromSnapshot(addresses);
    this.#options.logger.info({ from: message.from, index: message.snapshot.index }, 'snapshot received');
    this.#core.step(message);
    this.#schedule();
  }

  async #installSnapshot(index: number): Promise<void> {
    const latest = this.#snapshots.latest();
    if (latest === null || latest.meta.index !== index) {
      throw new Error(`core asked to install snapshot ${index} but the newest file is ${latest?.meta.index ?? 'none'}`);
    }
    await this.#options.stateMachine.restoreSnapshot(latest.path, index);
    this.#proposals.skippedTo(index);
    this.#policy.installed(index);
    this.#transport.setPeers(this.#book.peersOf(latest.meta.confState));
    this.#observer.onSnapshotInstalled?.(index);
    this.#options.logger.info({ index }, 'snapshot installed');
  }

  // ---- helpers ---------------------------------------------------------------

  #receive(messages: readonly Message[]): void {
    if (this.#stopped) return;
    for (const message of messages) {
      if (message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot') this.#leaderContactAt = Date.now();
      if (message.type === 'readIndex') {
        // A follower's lease-read round, answered from this leader's lease without the core's round.
        const index = this.#reads.answerFromLease(message.context, message.term);
        if (index !== null) {
          this.#send([{ type: 'readIndexResponse', from: this.id, to: message.from, term: message.term, context: message.context, index, reject: false }]);
          continue;
        }
      }
      this.#core.step(message);
    }
    if (this.#persisting) this.#whilePersisting();
    this.#schedule();
  }

  #leaderChanged(leader: NodeId | null): void {
    if (leader === this.#leader) return;
    const previous = this.#leader;
    this.#leader = leader;
    const term = this.#core.status().term;
    this.#options.logger.info({ previous, leader, term }, 'leader changed');
    // Read rounds addressed to the old leader will never be answered.
    if (previous !== null) this.#reads.failAll(new RaftError('CONCORD_ERR_NO_LEADER', 'leader changed; retry the read'));
    for (const listener of this.#listeners) listener(leader, term);
  }

  #assertWritable(): void {
    if (this.#stopped) throw new RaftError('CONCORD_ERR_STOPPED', 'node is stopping');
    if (this.#fatal !== null) throw new RaftError('CONCORD_ERR_STOPPED', `node stopped after a fatal error: ${this.#fatal.message}`);
    if (this.#storageError !== null) throw new RaftError('CONCORD_ERR_STORAGE_IO', `storage failed: ${this.#storageError}`);
  }

  #refusal(reason: RefusalReason, leader: NodeId | null): RaftError {
    const endpoint = leader === null ? null : this.#book.get(leader);
    switch (reason) {
      case 'notLeader':
        return leader === null
          ? new RaftError('CONCORD_ERR_NO_LEADER', 'no leader is known')
          : new RaftError('CONCORD_ERR_NOT_LEADER', `not the leader; the leader is ${leader}`, endpoint);
      case 'noLeader':
        return new RaftError('CONCORD_ERR_NO_LEADER', 'no leader is known');
      case 'transferring':
        return new RaftError('CONCORD_ERR_TRANSFERRING', 'leadership transfer in progress', endpoint);
      case 'confChangePending':
        return new RaftError('CONCORD_ERR_CONF_CHANGE_PENDING', 'a membership change is already pending');
      case 'invalidConfChange':
        return new RaftError('CONCORD_ERR_INVALID_CONF_CHANGE', 'membership change not allowed');
      case 'invalidTarget':
        return new RaftError('CONCORD_ERR_INVALID_CONF_CHANGE', 'leadership can only move to another voter');
      case 'tooManyUncommitted':
        return new RaftError('CONCORD_ERR_BUSY', 'too many uncommitted entries; back off');
    }
  }

  async #changeMembership(change: ConfChange, timeoutMs: number): Promise<void> {
    this.#assertWritable();
    const result = this.#core.proposeConfChange(change);
    if (!result.ok) throw this.#refusal(result.reason, result.leader);
    if (change.address !== undefined) this.#book.learn(change.node, change.address);
    this.#schedule();
    await this.#proposals.wait(result.index, result.term, timeoutMs);
  }

  /** The voter with the highest match among those heard from within an election timeout. */
  #mostCaughtUpVoter(): NodeId | null {
    const status = this.#core.status();
    const transport = this.#transport.stats();
    const quietAfterMs = this.#plan.tickMs * this.#plan.electionTicksMin;
    let best: { id: NodeId; match: number } | null = null;
    for (const p of status.progress) {
      if (p.learner || p.id === this.id || !status.confState.voters.includes(p.id)) continue;
      // Gone quiet (by the core's count, or by the transport across a leadership change): a transfer to it would time out.
      const lastContactAt = transport[p.id]?.lastContactAt ?? null;
      if (p.ticksSinceContact > this.#plan.electionTicksMin || lastContactAt === null || Date.now() - lastContactAt > quietAfterMs) continue;
      if (best === null || p.match > best.match) best = { id: p.id, match: p.match };
    }
    return best?.id ?? null;
  }

  async #waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.#stopped) throw new RaftError('CONCORD_ERR_STOPPED', 'node stopped');
      if (Date.now() > deadline) throw new RaftError('CONCORD_ERR_OUTCOME_UNKNOWN', `${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, this.#plan.tickMs));
    }
  }
}

/** Open storage, recover state, build the core and transport; call mount() then start(). */
export async function createRaftNode(options: RaftNodeOptions, observer: RaftObserver = {}): Promise<RaftNode> {
  const plan = planTicks(options);
  const storage = await RaftLogStore.open({ dir: join(options.dataDir, WAL_DIR), logger: options.logger, fs: options.storageFs,
    syncAll: options.syncAll === true });
  const snapshots = await SnapshotStore.open({ dir: join(options.dataDir, SNAPSHOT_DIR), logger: options.logger });
  const self = { id: options.id, host: options.host, port: options.port };
  const book = new AddressBook(self, options.peers);
  const loaded = storage.loaded();
  const latest = snapshots.latest();
  // Members added by entries the snapshot replaced; the configured peers take precedence.
  if (latest !== null) book.learnFromSnapshot(latest.addresses);
  const initial = await recoverInitialState({
    log: loaded,
    latestSnapshot: latest === null ? null : { meta: latest.meta, path: latest.path },
    stateMachine: options.stateMachine,
    // A joining node starts as an outsider of the cluster it was told about; the founders'
    // configuration is not in the log, so `peers` must list the current voters.
    bootstrap: options.join === true ? { voters: options.peers.map((p) => p.id).sort(), learners: [] } : { voters: [options.id, ...options.peers.map((p) => p.id)].sort(), learners: [] },
    logger: options.logger,
  });
  for (const entry of initial.entries) {
    if (entry.type !== 'confChange') continue;
    const change = decodeConfChange(entry.data);
    if (change.address !== undefined) book.learn(change.node, change.address);
  }
  const seed = options.randomSeed ?? Math.floor(Math.random() * 2 ** 31);
  const core = new RawNode(validateRaftConfig(coreConfig(options.id, plan, createSeededRandom(seed))), initial);
  const transport = new PeerTransport({
    selfId: options.id,
    peers: book.peersOf(core.status().confState),
    clusterSecret: options.clusterSecret,
    logger: options.logger,
    requestTimeoutMs: options.peerTimeoutMs,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    onUnreachable: (peer) => core.reportUnreachable(peer),
    // (the next tick schedules the loop; unreachable reports are advisory)
  });
  options.logger.info({ id: options.id, term: initial.hardState.term, commit: initial.hardState.commit,
    applied: initial.applied, snapshot: initial.snapshot?.index ?? 0, entries: initial.entries.length, tickMs: plan.tickMs },
  'raft node recovered');
  return new RaftNode({ options, plan, core, storage, snapshots, transport, book, observer });
}
