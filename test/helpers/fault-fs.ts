// A storage fs layer whose fdatasync first runs `beforeSync` (throw to fail the sync,
// wait to make it slow): fault injection for the WAL.
import { nodeFs, type StorageFs } from '../../raft/storage/index.js';

export function faultFs(beforeSync: () => Promise<void> | void): StorageFs {
  return {
    ...nodeFs,
    async openAppend(path) {
      const file = await nodeFs.openAppend(path);
      return {
        write: (buffer, offset, length, position) => file.write(buffer, offset, length, position),
        datasync: async () => {
          await beforeSync();
          await file.datasync();
        },
        truncate: (length) => file.truncate(length),
        close: () => file.close(),
      };
    },
  };
}
