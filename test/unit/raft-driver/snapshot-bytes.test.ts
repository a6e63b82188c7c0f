// The driver snapshots by bytes too: large entries trigger a snapshot long before the
// entry-count threshold, and the tail kept behind it is bounded by bytes. A snapshot due
// by entries but held back by its pace is taken once the pace allows, on a tick, even
// when nothing is applied any more; stop() lets a snapshot under way commit first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startSoloRaft } from '../../helpers/solo-raft.js';
import { waitUntil } from '../../helpers/wait.js';
import { MapStateMachine } from '../../integration/fixtures/map-state-machine.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-snapshot-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Make every snapshot of `machine` take at least `ms` longer. */
function slowSnapshots(machine: MapStateMachine, ms: number): void {
  const copy = machine.createSnapshot.bind(machine);
  machine.createSnapshot = async (path) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return copy(path);
  };
}

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

  it('takes a snapshot held back by its pace once the pace allows, with no write after it', async () => {
    const machine = await MapStateMachine.open(join(dir, 'paced.json'));
    slowSnapshots(machine, 300); // the next one due by entries waits 2.7 s after each
    const node = await startSoloRaft({ dataDir: join(dir, 'n2'), stateMachine: machine, snapshotThreshold: 5, snapshotTailEntries: 0 });
    try {
      const write = (i: number) => node.propose(Buffer.from(JSON.stringify({ key: `p${i}`, value: 'v' })));
      for (let i = 0; i < 5; i++) await write(i);
      await waitUntil(() => node.status().snapshotIndex > 0 && !node.status().snapshotInProgress, { timeoutMs: 10_000, what: 'the first snapshot' });
      const first = node.status().snapshotIndex;
      for (let i = 5; i < 15; i++) await write(i);
      const last = node.status().applied;
      // Due by entries, but within the pace: after longer than one snapshot takes, none has started or ended.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(node.status()).toMatchObject({ snapshotIndex: first, snapshotInProgress: false });
      // No write from here on: only the ticker can notice that the pace now allows it.
      await waitUntil(() => node.status().snapshotIndex === last, { timeoutMs: 10_000, what: 'the paced snapshot without a further write' });
    } finally {
      await node.stop();
    }
  });

  it('stop() waits for a snapshot under way, which commits before the storage closes', async () => {
    const machine = await MapStateMachine.open(join(dir, 'stop.json'));
    slowSnapshots(machine, 300);
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => { errors.push(line); } });
    const dataDir = join(dir, 'n3');
    const node = await startSoloRaft({ dataDir, stateMachine: machine, snapshotThreshold: 5, snapshotTailEntries: 0, logger });
    try {
      for (let i = 0; i < 5; i++) await node.propose(Buffer.from(JSON.stringify({ key: `s${i}`, value: 'v' })));
      await waitUntil(() => node.status().snapshotInProgress, { timeoutMs: 10_000, what: 'a snapshot under way' });
      await node.stop();
    } finally {
      await node.stop(); // (nothing left to do when the test got this far)
    }
    expect(errors).toEqual([]); // no "snapshot failed" against closed storage
    const again = await startSoloRaft({ dataDir, stateMachine: await MapStateMachine.open(join(dir, 'stop.json')), snapshotThreshold: 1_000 });
    try {
      expect(again.status().snapshotIndex).toBeGreaterThanOrEqual(5);
    } finally {
      await again.stop();
    }
  });
});
