// `promtool check metrics` on an exposition: required under .ci/run (which installs
// promtool and sets CONCORD_CI_TOOLS=required), run wherever promtool is on PATH.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export function expectPromtoolAccepts(exposition: string): void {
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (process.env.CONCORD_CI_TOOLS !== 'required' && process.env.CI !== 'true' && promtool.error !== undefined) return;
  expect(promtool.error, 'promtool must be installed here (Debian package prometheus)').toBeUndefined();
  expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
}
