// Where each member listens. Seeded from the configured peers and extended by
// membership changes that carry an address (ConfChange.address, "host:port"). Snapshots
// keep the members' addresses, so a member added by an entry that was compacted away
// is still reachable after a restart or on a node that caught up by snapshot.

import { parseHostPort } from '../host-port.js';
import type { ConfState, NodeId } from '../core/types.js';
import type { PeerEndpoint } from '../node-api.js';

export class AddressBook {
  readonly #endpoints = new Map<NodeId, PeerEndpoint>();
  readonly #self: PeerEndpoint;
  /** This node and the peers from its config file: what the operator said wins over snapshots. */
  readonly #configured = new Set<NodeId>();

  constructor(self: PeerEndpoint, peers: readonly PeerEndpoint[]) {
    this.#self = self;
    this.#endpoints.set(self.id, self);
    this.#configured.add(self.id);
    for (const peer of peers) {
      this.#endpoints.set(peer.id, peer);
      this.#configured.add(peer.id);
    }
  }

  get(id: NodeId): PeerEndpoint | null {
    return this.#endpoints.get(id) ?? null;
  }

  /** Record "host:port" for a member; malformed addresses are ignored (and reported). */
  learn(id: NodeId, address: string): boolean {
    const parsed = parseHostPort(address);
    if (parsed === null) return false;
    this.#endpoints.set(id, { id, ...parsed });
    return true;
  }

  /**
   * Record a snapshot's member addresses (returns how many were taken): they replace what
   * was learned before (a member removed and added again may have moved), but never this
   * node's own address or a peer's from the config file.
   */
  learnFromSnapshot(addresses: Readonly<Record<NodeId, string>>): number {
    let learned = 0;
    for (const [id, address] of Object.entries(addresses)) {
      if (!this.#configured.has(id) && this.learn(id, address)) learned++;
    }
    return learned;
  }

  /** "host:port" of every member of `conf` whose address is known (kept with snapshots). */
  addressesOf(conf: ConfState): Record<NodeId, string> {
    const out: Record<NodeId, string> = {};
    for (const id of [...conf.voters, ...conf.learners].sort()) {
      const endpoint = this.#endpoints.get(id);
      const address = endpoint === undefined ? null : `${endpoint.host}:${endpoint.port}`;
      // Only what reads back: an address must never make a snapshot commit fail.
      if (address !== null && parseHostPort(address) !== null) out[id] = address;
    }
    return out;
  }

  /**
   * Endpoints of every member other than this node, for the transport. A node that
   * joins knows no configuration yet: it must still answer the leader, so it gets every
   * endpoint it was told about.
   */
  peersOf(conf: ConfState): PeerEndpoint[] {
    const out: PeerEndpoint[] = [];
    const ids = conf.voters.length === 0 && conf.learners.length === 0 ? [...this.#endpoints.keys()] : [...conf.voters, ...conf.learners];
    for (const id of ids) {
      if (id === this.#self.id) continue;
      const endpoint = this.#endpoints.get(id);
      if (endpoint !== undefined) out.push(endpoint);
    }
    return out;
  }
}
