// Where each member listens. Seeded from the configured peers and extended by
// membership changes that carry an address (ConfChange.address, "host:port").

import type { ConfState, NodeId } from '../core/types.js';
import type { PeerEndpoint } from '../node-api.js';

export class AddressBook {
  readonly #endpoints = new Map<NodeId, PeerEndpoint>();
  readonly #self: PeerEndpoint;

  constructor(self: PeerEndpoint, peers: readonly PeerEndpoint[]) {
    this.#self = self;
    this.#endpoints.set(self.id, self);
    for (const peer of peers) this.#endpoints.set(peer.id, peer);
  }

  get(id: NodeId): PeerEndpoint | null {
    return this.#endpoints.get(id) ?? null;
  }

  /** Record "host:port" for a member; malformed addresses are ignored (and reported). */
  learn(id: NodeId, address: string): boolean {
    const match = /^([^:\s]+):(\d{1,5})$/.exec(address);
    if (match === null) return false;
    const port = Number(match[2]);
    if (port < 1 || port > 65535) return false;
    this.#endpoints.set(id, { id, host: match[1], port });
    return true;
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
