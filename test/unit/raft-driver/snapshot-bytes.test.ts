// The driver snapshots by bytes too: large entries trigger a snapshot long before the
// entry-count threshold, and the tail kept behind it is bounded by bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSoloRaft } from '../../helpers/solo-raft.js';
import { waitUntil } from '../../helpers/wait.js';
import { MapStateMachine } from '../../integration/fixtures/map-state-machine.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-snapshot-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('raft driver snapshot by bytes', () => {
  it('takes a snapshot after snapshotThresholdBytes of entries and keeps at most snapshotTailBytesMax behind it', async () => {
    const machine = await MapStateMachine.open(join(dir, 'map.json'));
    const node = await startSoloRaft({
      dataDir: join(dir, 'n1'), stateMachine: machine,
      snapshotThreshold: 100_000, snapshotTailEntries: 1_000, snapshotThresholdBytes: 20_000, snapshotTailBytesMax: 5_000,
    });
    try {
      const value = 'x'.repeat(1_000);
      // About 1 KiB each: the byte threshold is crossed around the 20th write.
      for (let i = 0; i < 30; i++) await node.propose(Buffer.from(JSON.stringify({ key: `k${i}`, value })));
      // 31 entries, far below the entry threshold: only the bytes can have asked for it.
      await waitUntil(() => node.status().snapshotIndex > 0, { timeoutMs: 30_000, what: 'a snapshot after 30 KiB of writes' });
      const status = node.status();
      // At most 4 entries of ~1 KiB fit in 5,000 bytes: the log starts no earlier than 3 before the snapshot index.
      expect(status.firstIndex).toBeGreaterThanOrEqual(status.snapshotIndex - 3);
      expect(machine.map.get('k29')).toBe(value);
    } finally {
      await node.stop();
    }
  });
});
