// GET /api/backup: a consistent backup file, streamed (format in src/backup/format.ts).
// Linearizable by default: the node first passes a read barrier (ReadIndex, also on
// followers), so the copy holds every write acknowledged before the request began;
// `?consistency=stale` copies whatever this node has applied. One backup at a time
// per node; the temporary copy is deleted when the response ends, however it ends.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { removeStaleBackupCopies, takeBackup, type TakenBackup } from '../backup/create.js';
import { BackupError } from '../backup/errors.js';
import { type AppParts, jsonSchema, sendError } from './http.js';
import { readable } from './routes-reads.js';

const backupQuery = z.object({ consistency: z.enum(['linearizable', 'stale']).optional() }).strict();

export function registerBackup(app: FastifyInstance, parts: AppParts, logger?: Logger): void {
  let inProgress = false;
  void removeStaleBackupCopies(parts.config).then((n) => {
    if (n > 0) logger?.info({ files: n }, 'removed backup copies left by an earlier run');
  }, () => undefined);

  app.get('/api/backup', { schema: { querystring: jsonSchema(backupQuery) } }, async (request, reply) => {
    if (inProgress) return sendError(reply, 'CONCORD_ERR_BACKUP_IN_PROGRESS', 'a backup is already being streamed from this node');
    inProgress = true;
    let backup: TakenBackup | null = null;
    let settled = false;
    let gone = false;
    // Ends this backup exactly once: frees the slot and deletes the copy (if one was taken).
    const settle = () => {
      if (settled) return;
      settled = true;
      inProgress = false;
      void backup?.release().catch((error: unknown) => logger?.warn({ err: error }, 'could not delete the backup copy'));
    };
    // The response closes when it is done or the client hangs up; during the copy, settle after it.
    reply.raw.once('close', () => {
      gone = true;
      if (backup !== null) settle();
    });
    try {
      if (!(await readable(parts, request, reply))) {
        settle();
        return reply;
      }
      const startedAt = performance.now();
      backup = await takeBackup(parts);
      if (gone || reply.raw.destroyed) {
        settle();
        return reply;
      }
      const { header, headerBytes, dbPath } = backup;
      logger?.info({ index: header.index, term: header.term, bytes: header.db_bytes, copyMs: Math.round(performance.now() - startedAt) },
        'streaming a backup');
      const body = Readable.from((async function* () {
        yield headerBytes;
        yield* createReadStream(dbPath);
      })());
      body.once('close', settle);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', headerBytes.length + header.db_bytes)
        .header('content-disposition', `attachment; filename="concord-${header.node_id}-${header.index}.backup"`)
        .header('x-concord-backup-index', String(header.index))
        .header('x-concord-backup-term', header.term === null ? 'unknown' : String(header.term))
        .header('x-concord-backup-sha256', header.db_sha256)
        .header('x-concord-backup-state-checksum', header.state_checksum)
        .send(body);
    } catch (error) {
      settle();
      logger?.error({ err: error }, 'backup failed');
      const code = error instanceof BackupError ? error.code : 'CONCORD_ERR_BACKUP_FAILED';
      return sendError(reply, code, (error as Error).message);
    }
  });
}
