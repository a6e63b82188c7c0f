// The benchmark commands' own argument handling: --help prints the usage and exits 0;
// an unknown case or load generator, or a missing profile file, exits 2 and starts nothing.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv } from '../../helpers/processes.js';

const bench = resolve(import.meta.dirname, '../../../dist/test/bench');
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [resolve(bench, script), ...args], { encoding: 'utf8', timeout: 30_000, env: childEnv() });

describe('benchmark command lines', () => {
  it('server-bench: --help, and refusals of an unknown case or load generator', () => {
    const help = run('server-bench.js', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--cases a,b\] \[--loadgen wrk\|undici\]/);
    const badCase = run('server-bench.js', '--cases', 'read_linearizable_leader,nope');
    expect(badCase.status).toBe(2);
    expect(badCase.stderr).toMatch(/unknown case\(s\) nope; the cases are read_linearizable_leader, /);
    const badGenerator = run('server-bench.js', '--loadgen', 'ab');
    expect(badGenerator.status).toBe(2);
    expect(badGenerator.stderr).toContain('--loadgen ab: expected wrk or undici');
  });

  it('cpuprofile-summary: --help, and a usage error without a file', () => {
    const help = run('cpuprofile-summary.js', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: .*FILE\.cpuprofile/);
    const none = run('cpuprofile-summary.js');
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^usage: /);
  });
});
