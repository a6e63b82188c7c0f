// The driver passes syncAll (`--force-sync`) to the WAL: then every persisted Ready costs
// one fdatasync; without it a single node's commit-only Readies are written unsynced.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSoloRaft } from '../../helpers/solo-raft.js';
import { MapStateMachine } from '../../integration/fixtures/map-state-machine.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-syncall-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run a single node through a few writes; count the Readies it persisted and the fsyncs the WAL made. */
async function writes(name: string, syncAll: boolean): Promise<{ persists: number; fsyncs: number }> {
  let persists = 0;
  const machine = await MapStateMachine.open(join(dir, `${name}.json`));
  const node = await startSoloRaft({ dataDir: join(dir, name), stateMachine: machine, syncAll }, { onPersist: () => { persists++; } });
  for (let i = 0; i < 5; i++) await node.propose(Buffer.from(JSON.stringify({ key: `k${i}`, value: i })));
  await node.stop();
  return { persists, fsyncs: node.storageStats().fsyncs };
}

describe('raft driver with syncAll', () => {
  it('fdatasyncs every persisted Ready, commit-only ones included', async () => {
    const all = await writes('all', true);
    expect(all.persists).toBeGreaterThanOrEqual(6); // election + 5 writes
    expect(all.fsyncs).toBe(all.persists);
    const some = await writes('some', false);
    expect(some.fsyncs).toBeLessThan(some.persists);
  });
});
