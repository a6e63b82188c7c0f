// `concord server --config FILE [--force-sync]`: the flag reaches the running node's
// config (the start-up log line reports it), overriding the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath } from '../../helpers/cli.js';
import { freePort } from '../../helpers/ports.js';
import { ProcessGroup } from '../../helpers/processes.js';
import { waitUntil } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-cli-server-'));
const processes = new ProcessGroup();
afterAll(async () => {
  await processes.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Start a node from a config file with extra CLI arguments; return its "listening" log record, then stop it. */
async function listeningRecord(name: string, fileKeys: Record<string, unknown>, args: string[]): Promise<Record<string, unknown>> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ node_id: name, port: await freePort(), data_dir: join(dir, name), log_level: 'info',
    enable_redundancy: false, ...fileKeys }));
  const child = processes.start(name, process.execPath, [cliPath, 'server', '--config', file, ...args]);
  const record = await waitUntil(() => child.output.join('').split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'concord node listening'),
  { timeoutMs: 30_000, what: `${name} to log that it listens` });
  expect(await processes.kill(child, 'SIGTERM')).toBe(0);
  return record;
}

describe('concord server --force-sync', () => {
  it('turns force_sync on, also over a file that turns it off; off without the flag by default', async () => {
    expect((await listeningRecord('flag', { force_sync: false }, ['--force-sync'])).force_sync).toBe(true);
    expect((await listeningRecord('plain', {}, [])).force_sync).toBe(false);
  });

  it('is listed in the help', () => {
    const help = spawnSync(process.execPath, [cliPath, 'server', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--force-sync');
  });
});
