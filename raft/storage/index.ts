export { RaftLogStore, type LoadedLog, type LogUpdate, type LogStats } from './log-store.js';
export { SnapshotStore, fileChecksum, type SnapshotRecord } from './snapshot-store.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export { crc32c } from './crc32c.js';
