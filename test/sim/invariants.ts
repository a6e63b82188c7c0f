// Safety properties checked after every simulator step (Raft paper Figure 3 and
// more): a violation throws with a message naming the rule.

import type { Entry, HardState, NodeId, SnapshotMeta } from '../../raft/core/index.js';
import type { SimCluster, SimNode } from './cluster.js';

export class SafetyViolation extends Error {
  constructor(rule: string, detail: string) {
    super(`${rule}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

interface Proposal { value: string; proposer: NodeId; index: number; term: number; acknowledgedAt: number | null }
interface Read { context: string; node: NodeId; startedAt: number; mustSee: Set<string>; index: number | null }

export class Invariants {
  readonly #cluster: SimCluster;
  /** term -> leader (election safety, whole history). */
  readonly #leaderOfTerm = new Map<number, NodeId>();
  /** index -> term of every entry known committed (never lost). */
  readonly #committed = new Map<number, number>();
  /** index -> the term in which it was first seen committed (leader completeness applies to later terms). */
  readonly #committedInTerm = new Map<number, number>();
  /** index -> "term/value" of every applied entry, any node, ever. */
  readonly #appliedAt = new Map<number, string>();
  readonly #lastCommit = new Map<NodeId, number>();
  readonly #persistedTerm = new Map<NodeId, number>();
  readonly #votes = new Map<string, NodeId>();
  readonly #leaderLogs = new Map<string, number[]>();
  readonly #proposals = new Map<string, Proposal>();
  readonly #reads = new Map<string, Read>();
  /** The highest committed entry and the voters in force when it was seen committed. */
  #highest: { index: number; term: number; voters: NodeId[]; previousVoters: NodeId[] } = { index: 0, term: 0, voters: [], previousVoters: [] };
  /** Each node's voters as of its previous Ready (before changes applied in the current one). */
  readonly #votersBefore = new Map<NodeId, NodeId[]>();
  #clock = 0;
  readsCompleted = 0;
  writesAcknowledged = 0;

  constructor(cluster: SimCluster) {
    this.#cluster = cluster;
  }

  // ---- events from the harness -------------------------------------------------

  proposed(value: string, proposer: NodeId, index: number, term: number): void {
    this.#proposals.set(value, { value, proposer, index, term, acknowledgedAt: null });
  }

  readStarted(context: string, node: NodeId): void {
    const mustSee = new Set<string>();
    for (const p of this.#proposals.values()) if (p.acknowledgedAt !== null) mustSee.add(p.value);
    this.#reads.set(context, { context, node, startedAt: ++this.#clock, mustSee, index: null });
  }

  readGranted(context: string, index: number, node: SimNode): void {
    const read = this.#reads.get(context);
    if (read === undefined || read.node !== node.id) return;
    read.index = index;
    this.#serveReads(node);
  }

  #serveReads(node: SimNode): void {
    for (const read of this.#reads.values()) {
      if (read.node !== node.id || read.index === null || node.applied < read.index) continue;
      const seen = new Set(node.values);
      for (const value of read.mustSee) {
        if (!seen.has(value)) {
          throw new SafetyViolation('linearizable read', `read ${read.context} on ${node.id} at index ${read.index} misses acknowledged write ${value}`);
        }
      }
      this.#reads.delete(read.context);
      this.readsCompleted++;
    }
  }

  persistHardState(node: SimNode, hardState: HardState): void {
    const previous = this.#persistedTerm.get(node.id) ?? 0;
    if (hardState.term < previous) {
      throw new SafetyViolation('persisted term monotonic', `${node.id} persisted term ${hardState.term} after ${previous}`);
    }
    this.#persistedTerm.set(node.id, hardState.term);
    if (hardState.vote !== null) {
      const key = `${node.id}@${hardState.term}`;
      const earlier = this.#votes.get(key);
      if (earlier !== undefined && earlier !== hardState.vote) {
        throw new SafetyViolation('one vote per term', `${node.id} voted for ${earlier} and ${hardState.vote} in term ${hardState.term}`);
      }
      this.#votes.set(key, hardState.vote);
    }
  }

  applied(node: SimNode, entry: Entry, value: string | null): void {
    const signature = `${entry.term}/${entry.type}/${value ?? ''}`;
    const earlier = this.#appliedAt.get(entry.index);
    if (earlier !== undefined && earlier !== signature) {
      throw new SafetyViolation('state machine safety', `index ${entry.index} applied as ${earlier} and as ${signature} (on ${node.id})`);
    }
    this.#appliedAt.set(entry.index, signature);
    if (value !== null) {
      const proposal = this.#proposals.get(value);
      if (proposal !== undefined && proposal.proposer === node.id && proposal.index === entry.index &&
        proposal.term === entry.term && proposal.acknowledgedAt === null) {
        proposal.acknowledgedAt = ++this.#clock;
        this.writesAcknowledged++;
      }
    }
    this.#serveReads(node);
  }

  snapshotInstalled(node: SimNode, meta: SnapshotMeta, values: string[]): void {
    const committedTerm = this.#committed.get(meta.index);
    if (committedTerm !== undefined && committedTerm !== meta.term) {
      throw new SafetyViolation('snapshot safety', `${node.id} installs snapshot (${meta.index}, ${meta.term}) but ${meta.index} committed in term ${committedTerm}`);
    }
    void values;
  }

  afterRestart(node: SimNode): void {
    this.#lastCommit.delete(node.id);
  }

  /** Checks after each Ready of `node`. */
  afterAdvance(node: SimNode): void {
    const status = node.core!.status();
    if (!(status.applied <= status.commit && status.commit <= status.lastIndex)) {
      throw new SafetyViolation('index order', `${node.id}: applied ${status.applied}, commit ${status.commit}, last ${status.lastIndex}`);
    }
    const previousCommit = this.#lastCommit.get(node.id) ?? 0;
    if (status.commit < previousCommit) {
      throw new SafetyViolation('commit monotonic', `${node.id} commit went ${previousCommit} -> ${status.commit}`);
    }
    this.#lastCommit.set(node.id, status.commit);
    this.#recordCommitted(node, status.commit);
    this.#votersBefore.set(node.id, [...status.confState.voters]);
    if (status.role === 'leader') this.#checkLeader(node, status.term);
  }

  #recordCommitted(node: SimNode, commit: number): void {
    const core = node.core!;
    const first = core.status().firstIndex;
    for (let index = Math.max(first, commit - 64); index <= commit; index++) {
      const entry = core.entries(index, index + 1)[0];
      if (entry === undefined) continue;
      const known = this.#committed.get(index);
      if (known !== undefined && known !== entry.term) {
        throw new SafetyViolation('log matching / committed entry changed', `index ${index} committed in term ${known}, ${node.id} has term ${entry.term}`);
      }
      if (known === undefined) this.#committedInTerm.set(index, core.status().term);
      this.#committed.set(index, entry.term);
      if (index > this.#highest.index) {
        const voters = [...core.status().confState.voters];
        // The entry may have committed under the configuration before a change applied in the same Ready.
        this.#highest = { index, term: entry.term, voters, previousVoters: this.#votersBefore.get(node.id) ?? voters };
      }
    }
  }

  #checkLeader(node: SimNode, term: number): void {
    const holder = this.#leaderOfTerm.get(term);
    if (holder !== undefined && holder !== node.id) {
      throw new SafetyViolation('election safety', `term ${term} has leaders ${holder} and ${node.id}`);
    }
    this.#leaderOfTerm.set(term, node.id);
    const core = node.core!;
    const { firstIndex, lastIndex } = core.status();
    // Leader completeness: every committed entry is in the leader's log.
    for (const [index, committedTerm] of this.#committed) {
      if ((this.#committedInTerm.get(index) ?? 0) >= term) continue;
      if (index < firstIndex || index > lastIndex) {
        if (index > lastIndex) throw new SafetyViolation('leader completeness', `leader ${node.id} (term ${term}) lacks committed index ${index}`);
        continue;
      }
      const entry = core.entries(index, index + 1)[0];
      if (entry.term !== committedTerm) {
        throw new SafetyViolation('leader completeness', `leader ${node.id} has term ${entry.term} at committed index ${index} (committed term ${committedTerm})`);
      }
    }
    // Leader append-only: what this leader had in this term is still there.
    const key = `${node.id}@${term}`;
    const terms = core.entries(firstIndex, lastIndex + 1).map((e) => e.term);
    const before = this.#leaderLogs.get(key);
    if (before !== undefined) {
      const offset = firstIndex;
      const previousFirst = before[0];
      for (let i = 1; i < before.length; i++) {
        const index = previousFirst + i - 1;
        if (index < offset) continue;
        if (index - offset >= terms.length || terms[index - offset] !== before[i]) {
          throw new SafetyViolation('leader append-only', `leader ${node.id} changed or dropped index ${index} in term ${term}`);
        }
      }
    }
    this.#leaderLogs.set(key, [firstIndex, ...terms]);
  }

  /** Log matching across every pair of live nodes, and committed entries never lost. */
  checkGlobal(): void {
    const ups = this.#cluster.upIds().map((id) => this.#cluster.nodes.get(id)!);
    for (let a = 0; a < ups.length; a++) {
      for (let b = a + 1; b < ups.length; b++) this.#checkLogMatching(ups[a], ups[b]);
    }
    this.#checkCommittedDurable();
  }

  #checkLogMatching(x: SimNode, y: SimNode): void {
    const cx = x.core!;
    const cy = y.core!;
    const from = Math.max(cx.status().firstIndex, cy.status().firstIndex);
    const to = Math.min(cx.status().lastIndex, cy.status().lastIndex);
    const ex = cx.entries(from, to + 1);
    const ey = cy.entries(from, to + 1);
    let highestSame = -1;
    for (let i = ex.length - 1; i >= 0; i--) {
      if (ex[i].term === ey[i].term) { highestSame = i; break; }
    }
    for (let i = 0; i < highestSame; i++) {
      if (ex[i].term !== ey[i].term || ex[i].type !== ey[i].type || !sameBytes(ex[i].data, ey[i].data)) {
        throw new SafetyViolation('log matching', `${x.id} and ${y.id} agree at ${from + highestSame} but differ at ${from + i}`);
      }
    }
  }

  #checkCommittedDurable(): void {
    const { index, term, voters, previousVoters } = this.#highest;
    if (index === 0) return;
    // The highest committed entry (hence, by log matching, its prefix) stays durable on a
    // majority of the voters that committed it (the configuration in force then, or the
    // one just before it when a change applied in the same batch): synced data never disappears.
    const holders = (ids: readonly NodeId[]) => ids.filter((id) => {
      const disk = this.#cluster.nodes.get(id)!.disk;
      const onDisk = disk.entries.find((e) => e.index === index);
      return (onDisk !== undefined && onDisk.term === term) || (disk.snapshot !== null && disk.snapshot.meta.index >= index);
    }).length;
    const now = holders(voters);
    if (now * 2 > voters.length || holders(previousVoters) * 2 > previousVoters.length) return;
    throw new SafetyViolation('committed entry durable', `index ${index} (term ${term}) is durable on only ${now} of ${voters.length} voters`);
  }

  get committedCount(): number {
    return this.#committed.size;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
