// Coded storage failures.
export type StorageErrorCode = 'CONCORD_ERR_STORAGE_IO' | 'CONCORD_ERR_STORAGE_FULL' | 'CONCORD_ERR_STORAGE_CORRUPT';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly file: string | null;
  readonly offset: number | null;
  constructor(code: StorageErrorCode, message: string, where: { file?: string; offset?: number } = {}) {
    super(where.file === undefined ? message : `${message} (${where.file}${where.offset === undefined ? '' : ` at byte ${where.offset}`})`);
    this.name = 'StorageError';
    this.code = code;
    this.file = where.file ?? null;
    this.offset = where.offset ?? null;
  }
}

/** Map a Node fs error to a coded storage error. */
export function fromFsError(error: unknown, file: string): StorageError {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageError('CONCORD_ERR_STORAGE_FULL', 'disk full', { file });
  return new StorageError('CONCORD_ERR_STORAGE_IO', `I/O error ${code ?? ''}: ${(error as Error)?.message ?? String(error)}`, { file });
}
