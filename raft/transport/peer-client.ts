// Sending side of the peer transport: per peer, one stream for every message but
// snapshots (peer-stream.ts: one frame per event-loop turn, no per-message answer) and
// an undici pool, made on first use, for chunked snapshot uploads. Each peer has its
// own stream, queue, timeouts and backoff, so one slow or dead peer never delays the
// others (openraft#1810).
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { Message, NodeId, SnapshotMessage } from '../core/types.js';
import { urlAuthority } from '../host-port.js';
import { SIGNATURE_HEADER, sign } from './auth.js';
import { PeerStream, type PeerStreamOptions } from './peer-stream.js';
import { SNAPSHOT_HEADER } from './routes.js';

/** Bytes waiting for a peer's socket beyond which its stream counts as stuck and is re-dialled. */
const WRITE_BUFFER_BYTES_MAX = 64 * 1024 * 1024;

export interface PeerAddress { readonly id: NodeId; readonly host: string; readonly port: number }

/** TLS towards peers: `ca` verifies their certificates; `cert`/`key` are presented for mutual TLS. */
export interface PeerTls {
  readonly ca?: Buffer | string;
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
}

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  readonly peers: readonly PeerAddress[];
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly requestTimeoutMs?: number;
  readonly backoffMsMax?: number;
  readonly snapshotChunkBytes?: number;
  readonly queueMessagesMax?: number;
  /** Reach peers over https (verified with `tls.ca`) instead of http. */
  readonly tls?: PeerTls;
  readonly onUnreachable: (peer: NodeId) => void;
}

/** `sent`: messages handed to the stream's socket; `frames`: the writes that carried them. */
export interface PeerStats { sent: number; frames: number; failed: number; lastRttMs: number | null; lastContactAt: number | null; queueLength: number; backoffMs: number }

class PeerChannel {
  readonly stream: PeerStream;
  /** Snapshots still travel as chunked HTTP requests; the pool is made on first use. */
  pool: Pool | null = null;
  snapshotBusy = false;
  /** Last frame that arrived from this peer on its own stream to us. */
  heardAt: number | null = null;

  constructor(readonly address: PeerAddress, options: PeerStreamOptions) {
    this.stream = new PeerStream(options);
  }

  snapshotPool(timeoutMs: number, tls: PeerTls | undefined): Pool {
    this.pool ??= new Pool(`${tls === undefined ? 'http' : 'https'}://${urlAuthority(this.address.host, this.address.port)}`, {
      connections: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs,
      keepAliveTimeout: 30_000, ...(tls === undefined ? {} : { connect: { ...tls } }),
    });
    return this.pool;
  }

  close(): void {
    this.stream.close();
    void this.pool?.close().catch(() => undefined);
  }
}

export class PeerTransport {
  readonly #options: PeerTransportOptions;
  readonly #channels = new Map<NodeId, PeerChannel>();
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: PeerTransportOptions) {
    this.#options = options;
    this.#timeoutMs = options.requestTimeoutMs ?? 1000;
    this.setPeers(options.peers);
  }

  setPeers(peers: readonly PeerAddress[]): void {
    for (const peer of peers) {
      if (peer.id === this.#options.selfId) continue;
      const existing = this.#channels.get(peer.id);
      if (existing !== undefined && existing.address.host === peer.host && existing.address.port === peer.port) continue;
      existing?.close();
      this.#channels.set(peer.id, new PeerChannel(peer, {
        selfId: this.#options.selfId, peer, clusterSecret: this.#options.clusterSecret, logger: this.#options.logger,
        ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
        timeoutMs: this.#timeoutMs, backoffMsMax: this.#options.backoffMsMax ?? 1000,
        queueMessagesMax: this.#options.queueMessagesMax ?? 4096, writeBufferBytesMax: WRITE_BUFFER_BYTES_MAX,
        onUnreachable: this.#options.onUnreachable,
      }));
    }
    for (const [id, channel] of this.#channels) {
      if (!peers.some((p) => p.id === id)) {
        channel.close();
        this.#channels.delete(id);
      }
    }
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    // Each stream queues what it gets and writes one frame per event-loop turn.
    for (const message of messages) this.#channels.get(message.to)?.stream.send(message);
  }

  /** A frame from `peer` arrived on its stream to this node. */
  noteContact(peer: NodeId): void {
    const channel = this.#channels.get(peer);
    if (channel !== undefined) channel.heardAt = Date.now();
  }

  async sendSnapshot(message: SnapshotMessage, file: { path: string; bytes: number; checksum: string; addresses?: Readonly<Record<string, string>> }): Promise<boolean> {
    const channel = this.#channels.get(message.to);
    if (channel === undefined || channel.snapshotBusy || this.#closed) return false;
    channel.snapshotBusy = true;
    const chunkBytes = this.#options.snapshotChunkBytes ?? 1024 * 1024;
    const handle = await open(file.path, 'r');
    try {
      let offset = 0;
      for (let round = 0; round < 1_000_000 && !this.#closed; round++) {
        const length = Math.min(chunkBytes, file.bytes - offset);
        const chunk = Buffer.alloc(length);
        await handle.read(chunk, 0, length, offset);
        const header = Buffer.from(JSON.stringify({ message, offset, total: file.bytes, checksum: file.checksum, addresses: file.addresses ?? {} })).toString('base64');
        const response = await channel.snapshotPool(this.#timeoutMs, this.#options.tls).request({
          path: '/raft/snapshot', method: 'POST', body: chunk,
          headers: { 'content-type': 'application/octet-stream', [SNAPSHOT_HEADER]: header,
            [SIGNATURE_HEADER]: sign(this.#options.clusterSecret, 'POST', '/raft/snapshot', chunk, Date.now(), header) },
        });
        const answer = (await response.body.json().catch(() => ({}))) as { have?: number; done?: boolean };
        if (response.statusCode === 409 && typeof answer.have === 'number' && answer.have <= file.bytes) {
          offset = answer.have; // resume where the receiver is
          continue;
        }
        if (response.statusCode !== 200) return false;
        if (answer.done === true) return true;
        offset += length;
      }
      return false;
    } catch (error) {
      this.#options.logger.warn({ peer: message.to, err: (error as Error).message }, 'snapshot transfer failed');
      return false;
    } finally {
      await handle.close();
      channel.snapshotBusy = false;
    }
  }

  stats(): Record<NodeId, PeerStats> {
    const out: Record<NodeId, PeerStats> = {};
    for (const [id, channel] of this.#channels) {
      const stats = channel.stream.stats;
      // Contact either way: a pong on our stream, or any frame on the peer's stream to us.
      const lastContactAt = Math.max(stats.lastContactAt ?? 0, channel.heardAt ?? 0);
      out[id] = { ...stats, lastContactAt: lastContactAt === 0 ? null : lastContactAt };
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
  }
}
