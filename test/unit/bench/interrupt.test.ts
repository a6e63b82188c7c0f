// A benchmark stopped by a signal (Ctrl-C, `kill`) kills the processes it started and
// removes its scratch directories before it exits, as the signal would have; the
// benchmark runner forwards the signal to it and runs nothing further.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../../helpers/cli.js';
import { ProcessGroup } from '../../helpers/processes.js';
import { gone, processesMentioning } from '../../helpers/proc.js';
import { waitUntil } from '../../helpers/wait.js';

const helpers = resolve(root, 'dist/test/helpers');

describe('exitOnInterrupt', () => {
  it.each([['SIGTERM', 143], ['SIGINT', 130]] as const)('on %s kills the started processes, removes scratch directories, exits %i', async (signal, code) => {
    const script = `
      import { writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      const { exitOnInterrupt, scratchDir } = await import(${JSON.stringify(`${helpers}/interrupt.js`)});
      const { ProcessGroup } = await import(${JSON.stringify(`${helpers}/processes.js`)});
      exitOnInterrupt();
      const group = new ProcessGroup();
      const sleepers = [1, 2].map((n) => group.start('sleeper' + n, process.execPath, ['-e', 'setInterval(() => {}, 1000)']));
      const kept = scratchDir('concord-interrupt-test-');
      const removedEarly = scratchDir('concord-interrupt-test-');
      removedEarly.remove();
      writeFileSync(join(kept.path, 'data'), 'x');
      process.stdout.write(JSON.stringify({ pids: sleepers.map((s) => s.process.pid), dir: kept.path }) + '\\n');
      setInterval(() => {}, 1000);`;
    const group = new ProcessGroup();
    const parent = group.start('parent', process.execPath, ['--input-type=module', '-e', script], { NODE_OPTIONS: '' });
    const output = () => parent.output.join('');
    let pids: number[] = [];
    try {
      const line = await waitUntil(() => /^\{.*\}$/m.exec(output())?.[0] ?? null, { timeoutMs: 30_000, what: 'the start line' });
      const started = JSON.parse(line) as { pids: number[]; dir: string };
      pids = started.pids;
      expect(started.pids.every((pid) => !gone(pid))).toBe(true);
      expect(existsSync(started.dir)).toBe(true);
      parent.process.kill(signal);
      expect(await parent.exited, output()).toBe(code); // an exit of its own: a death by the signal would give null
      expect(output()).toContain(`${signal}: stopping what this process started`);
      expect(existsSync(started.dir)).toBe(false);
      await waitUntil(() => started.pids.every(gone), { timeoutMs: 10_000, what: 'the started processes to be killed' });
      pids = []; // gone: their ids may be reused by other processes from now on
    } finally {
      await group.killAll();
      for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL'); // only after a failure: left running, they are this test's
    }
  });
});

describe('the benchmark runner', () => {
  it('forwards SIGINT to the running benchmark, which stops its server and removes its data; nothing further runs', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'concord-runner-test-'));
    const group = new ProcessGroup();
    const runner = group.start('runner', process.execPath, [resolve(root, 'dist/test/bench/run.js'), 'server', '--sizes', '1', '--seconds', '60',
      '--rounds', '0', '--baseline', 'false', '--out', join(tmp, 'out.json')], { NODE_OPTIONS: '', TMPDIR: tmp });
    const output = () => runner.output.join('');
    let servers: number[] = [];
    try {
      servers = await waitUntil(() => {
        const found = /1 node\(s\), leader/.test(output()) ? processesMentioning(tmp).filter((pid) => pid !== runner.process.pid) : [];
        return found.length >= 2 ? found : null; // the benchmark and its server
      }, { timeoutMs: 60_000, what: 'the benchmark to start its server' });
      expect(readdirSync(tmp).some((name) => name.startsWith('concord-servers-'))).toBe(true);
      runner.process.kill('SIGINT');
      runner.process.kill('SIGINT'); // a second one changes nothing (exitOnInterrupt keeps its handlers while it cleans up)
      expect(await runner.exited, output()).toBe(130); // an exit of its own: a death by the signal would give null
      expect(output()).toContain('SIGINT: stopping what this process started');
      expect(output()).toContain('bench server stopped by SIGINT; the rest are not run');
      await waitUntil(() => servers.every(gone), { timeoutMs: 10_000, what: 'the benchmark and its server to be gone' });
      servers = [];
      expect(readdirSync(tmp).filter((name) => name.startsWith('concord-servers-'))).toEqual([]);
    } finally {
      await group.killAll();
      for (const pid of servers) if (!gone(pid)) process.kill(pid, 'SIGKILL'); // only after a failure
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
