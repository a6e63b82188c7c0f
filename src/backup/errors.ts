// Coded failures of backup and restore (codes and meanings in src/api/errors.ts).
import type { HttpErrorCode } from '../api/errors.js';

export type BackupErrorCode = Extract<HttpErrorCode,
  'CONCORD_ERR_BACKUP_CORRUPT' | 'CONCORD_ERR_BACKUP_FAILED' | 'CONCORD_ERR_RESTORE_REFUSED' | 'CONCORD_ERR_VALIDATION'>;

export class BackupError extends Error {
  readonly code: BackupErrorCode;
  constructor(code: BackupErrorCode, message: string) {
    super(message);
    this.name = 'BackupError';
    this.code = code;
  }
}
