// The driver on a failing disk: new writes are refused, the node reports
// unhealthy, nothing is acknowledged before it is persisted, and it recovers on
// its own once the disk works again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RaftNode } from '../../../raft/server.js';
import { MapStateMachine } from '../../integration/fixtures/map-state-machine.js';
import { faultFs } from '../../helpers/fault-fs.js';
import { startSoloRaft } from '../../helpers/solo-raft.js';
import { waitUntil } from '../../helpers/wait.js';

function failingFs(state: { failing: boolean }) {
  return faultFs(() => {
    if (state.failing) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  });
}

describe('raft driver on a failing disk', () => {
  let node: RaftNode | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'concord-disk-'));
  afterEach(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses writes while the disk fails, acknowledges nothing unpersisted, and recovers', async () => {
    const disk = { failing: false };
    const machine = await MapStateMachine.open(join(dir, 'map.json'));
    node = await startSoloRaft({ dataDir: dir, stateMachine: machine, storageFs: failingFs(disk) });
    const put = (key: string) => node!.propose(Buffer.from(JSON.stringify({ key, value: key })));
    await put('before');

    disk.failing = true;
    const during = put('during');
    await waitUntil(() => !node!.status().storage.healthy, { timeoutMs: 10_000, what: 'the node to report unhealthy storage' });
    await expect(put('refused')).rejects.toMatchObject({ code: 'CONCORD_ERR_STORAGE_IO' });
    expect(machine.map.has('during')).toBe(false); // not applied: never persisted

    disk.failing = false;
    await during; // the retry persisted and committed it
    await waitUntil(() => node!.status().storage.healthy, { timeoutMs: 10_000, what: 'storage to recover' });
    await put('after');
    expect([...machine.map.keys()]).toEqual(['before', 'during', 'after']);
  });
});
