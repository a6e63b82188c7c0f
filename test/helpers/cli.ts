// Run the built `concord` command (dist/src/cli/main.js) and collect its exit code and output.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { childEnv } from './processes.js';

const here = import.meta.dirname;
/** The repository's root, from the sources or from their build under dist/. */
export const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../..');
export const cliPath = resolve(root, 'dist/src/cli/main.js');

export interface CliResult { readonly code: number; readonly stdout: string; readonly stderr: string }

export function runCli(args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: options.timeoutMs ?? 60_000, env: childEnv(options.env) },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolvePromise({ code, stdout, stderr });
      });
  });
}
