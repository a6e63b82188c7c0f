// `promtool check metrics` on an exposition: required under .ci/run (which installs
// promtool and sets CONCORD_CI_TOOLS=required), run wherever promtool is on PATH; and
// the rule every test that needs a system tool follows.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/** Under .ci/run (or CI=true) the system tools tests use must be there; elsewhere a test may do without one that is missing. */
export function ciToolsRequired(): boolean {
  return process.env.CONCORD_CI_TOOLS === 'required' || process.env.CI === 'true';
}

export function expectPromtoolAccepts(exposition: string): void {
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (!ciToolsRequired() && promtool.error !== undefined) return;
  expect(promtool.error, 'promtool must be installed here (Debian package prometheus)').toBeUndefined();
  expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
}
