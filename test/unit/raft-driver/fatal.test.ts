// A state machine that throws while applying leaves a Ready half handled, which cannot
// be retried in process: the driver reports it once through onFatal (the server exits
// and its supervisor restarts it from disk) and refuses writes from then on instead of
// sitting wedged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../../raft/core/index.js';
import { RaftError } from '../../../raft/node-api.js';
import type { RaftNode } from '../../../raft/server.js';
import { startSoloRaft } from '../../helpers/solo-raft.js';
import { MapStateMachine } from '../../integration/fixtures/map-state-machine.js';

describe('raft driver after a failed apply', () => {
  let node: RaftNode | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'concord-fatal-'));
  afterEach(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the failure once through onFatal and refuses writes from then on', async () => {
    const machine = await MapStateMachine.open(join(dir, 'map.json'));
    const broken = { on: false };
    const apply = machine.apply.bind(machine);
    machine.apply = async (entries: readonly Entry[]) => {
      if (broken.on && entries.some((e) => e.data.length > 0)) throw new Error('apply bug');
      return apply(entries);
    };
    const fatal: Error[] = [];
    let reported: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => { reported = resolve; });
    node = await startSoloRaft({ dataDir: dir, stateMachine: machine, requestTimeoutMs: 2_000,
      onFatal: (error) => { fatal.push(error); reported(); } });
    const put = (key: string) => node!.propose(Buffer.from(JSON.stringify({ key, value: key })));
    await put('before');
    broken.on = true;
    const lost = put('during').catch((error: unknown) => error);
    await failed;
    expect(fatal.map((e) => e.message)).toEqual(['apply bug']);
    const refused = await put('after').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RaftError);
    expect((refused as RaftError).code).toBe('CONCORD_ERR_STOPPED');
    expect(((await lost) as RaftError).code).toBe('CONCORD_ERR_OUTCOME_UNKNOWN');
    expect(fatal).toHaveLength(1);
  });
});
