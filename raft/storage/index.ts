export { RaftLogStore, type LoadedLog, type LogUpdate, type LogStats, type LogStoreOptions } from './log-store.js';
export { SnapshotStore, fileChecksum, type SnapshotRecord } from './snapshot-store.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export { fsyncPath, nodeFs, type StorageFs, type AppendFile } from './fs-layer.js';
export { crc32c } from './crc32c.js';
