// Peer RPC on the node's fastify server: the message stream (stream-listener.ts, what
// current senders use), chunked snapshots, and the one-request-per-batch message routes
// that senders before the stream transport use (kept so a rolling upgrade works). Every
// request must carry a valid cluster signature; bodies are decoded and validated
// before reaching the core.
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Message, NodeId, SnapshotMessage } from '../core/types.js';
import { fileChecksum, parseAddresses } from '../storage/snapshot-store.js';
import { SIGNATURE_HEADER, hasVerifiedClientCert, verify } from './auth.js';
import { decodeMessage, decodeMessages } from './codec.js';
import { TransportError } from './errors.js';
import { attachStreamListener } from './stream-listener.js';

export interface RaftRouteOptions {
  readonly selfId: NodeId;
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly snapshotDir: string;
  readonly onMessages: (messages: Message[]) => void;
  /** A peer reached this node (any frame on its stream): it is alive and its messages arrive. */
  readonly onContact?: (peer: NodeId) => void;
  /** A complete, checksum-verified snapshot file, with the members' addresses the sender kept with it. */
  readonly onSnapshot: (message: SnapshotMessage, filePath: string, addresses: Readonly<Record<string, string>>) => Promise<void>;
  readonly bodyLimitBytes?: number;
  /** Mutual TLS: refuse a peer whose TLS client certificate the CA did not verify. */
  readonly requireClientCert?: boolean;
  /** Close a peer stream that carries no frame for this long (default 30 s). */
  readonly streamIdleMs?: number;
}

export const SNAPSHOT_HEADER = 'x-concord-snapshot';
const BODY_LIMIT_DEFAULT = 64 * 1024 * 1024;

interface ChunkHeader { message: SnapshotMessage; offset: number; total: number; checksum: string; addresses: Record<string, string> }

export function registerRaftRoutes(app: FastifyInstance, options: RaftRouteOptions): void {
  const bodyLimit = options.bodyLimitBytes ?? BODY_LIMIT_DEFAULT;
  attachStreamListener(app, { ...options, bodyBytesMax: bodyLimit });
  app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
    scope.addHook('preHandler', async (request, reply) => {
      if (options.requireClientCert === true && !hasVerifiedClientCert(request.raw.socket as TLSSocket)) {
        options.logger.warn({ source: request.ip, path: request.url }, 'refused peer request without a verified TLS client certificate');
        return reply.code(401).send({ error: { code: 'CONCORD_ERR_PEER_UNAUTHORIZED', message: 'a TLS client certificate signed by the cluster CA is required' } });
      }
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      // A snapshot chunk's header (meta, offset, checksum, addresses) is signed with its body.
      const snapshotHeader = request.url === '/raft/snapshot' ? request.headers[SNAPSHOT_HEADER] : undefined;
      const context = typeof snapshotHeader === 'string' ? snapshotHeader : '';
      if (!verify(options.clusterSecret, request.method, request.url, body, request.headers[SIGNATURE_HEADER], Date.now(), context)) {
        options.logger.warn({ source: request.ip, path: request.url }, 'refused peer request without a valid cluster signature');
        return reply.code(401).send({ error: { code: 'CONCORD_ERR_PEER_UNAUTHORIZED', message: 'missing or invalid cluster signature' } });
      }
    });
    const messageRoute = async (request: FastifyRequest, reply: FastifyReply) => {
      let messages: Message[];
      try {
        messages = decodeMessages(request.body as Buffer);
      } catch (error) {
        return refuse(reply, options.logger, request, error);
      }
      if (messages.some((m) => m.to !== options.selfId)) {
        return refuse(reply, options.logger, request, new TransportError('CONCORD_ERR_PEER_MALFORMED', `message addressed to another node (I am ${options.selfId})`));
      }
      options.onMessages(messages);
      return reply.code(202).send();
    };
    for (const path of ['/raft/append', '/raft/vote', '/raft/timeout-now']) scope.post(path, messageRoute);
    scope.post('/raft/snapshot', (request, reply) => receiveChunk(request, reply, options));
  });
}

function refuse(reply: FastifyReply, logger: Logger, request: FastifyRequest, error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  logger.warn({ source: request.ip, path: request.url, reason: message }, 'dropped malformed peer request');
  return reply.code(400).send({ error: { code: 'CONCORD_ERR_PEER_MALFORMED', message } });
}

function parseChunkHeader(raw: unknown, selfId: NodeId): ChunkHeader {
  if (typeof raw !== 'string') throw new TransportError('CONCORD_ERR_PEER_MALFORMED', 'snapshot chunk header missing');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new TransportError('CONCORD_ERR_PEER_MALFORMED', 'snapshot chunk header is not base64 JSON');
  }
  const message = decodeMessage(parsed.message);
  const { offset, total, checksum } = parsed;
  if (message.type !== 'snapshot' || message.to !== selfId) throw new TransportError('CONCORD_ERR_PEER_MALFORMED', 'chunk must carry a snapshot message for this node');
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(total) || (offset as number) < 0 || (offset as number) > (total as number)) {
    throw new TransportError('CONCORD_ERR_PEER_MALFORMED', 'chunk offset/total are invalid');
  }
  if (typeof checksum !== 'string' || !/^[0-9a-f]{64}$/.test(checksum)) throw new TransportError('CONCORD_ERR_PEER_MALFORMED', 'checksum must be sha256 hex');
  // Senders before member addresses travelled with snapshots send none.
  const addresses = parsed.addresses === undefined ? {} : parseAddresses(parsed.addresses);
  if (addresses === null) throw new TransportError('CONCORD_ERR_PEER_MALFORMED', 'addresses must map member ids to "host:port"');
  return { message, offset: offset as number, total: total as number, checksum, addresses };
}

async function receiveChunk(request: FastifyRequest, reply: FastifyReply, options: RaftRouteOptions) {
  let header: ChunkHeader;
  try {
    header = parseChunkHeader(request.headers[SNAPSHOT_HEADER], options.selfId);
  } catch (error) {
    return refuse(reply, options.logger, request, error);
  }
  const body = request.body as Buffer;
  await mkdir(options.snapshotDir, { recursive: true });
  const meta = header.message.snapshot;
  const path = join(options.snapshotDir, `incoming-${meta.term}-${meta.index}-${header.checksum.slice(0, 16)}.part`);
  const have = (await stat(path).catch(() => null))?.size ?? 0;
  if (have !== header.offset) return reply.code(409).send({ have });
  if (header.offset + body.length > header.total) return refuse(reply, options.logger, request, new TransportError('CONCORD_ERR_PEER_MALFORMED', 'chunk runs past the declared size'));
  const file = await open(path, 'a');
  try {
    await file.write(body);
    await file.sync();
  } finally {
    await file.close();
  }
  const size = header.offset + body.length;
  if (size < header.total) return reply.code(200).send({ have: size });
  const actual = await fileChecksum(path);
  if (actual !== header.checksum) {
    await rm(path, { force: true });
    options.logger.warn({ from: header.message.from, index: meta.index }, 'snapshot checksum mismatch; discarded');
    return reply.code(422).send({ error: { code: 'CONCORD_ERR_PEER_MALFORMED', message: 'snapshot checksum mismatch' } });
  }
  await options.onSnapshot(header.message, path, header.addresses);
  return reply.code(200).send({ have: size, done: true });
}
