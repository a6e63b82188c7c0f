// A benchmark runs for minutes and is often stopped by hand (Ctrl-C, `kill`): it must
// not leave the servers it started running, nor their data directories behind. What
// starts a process or makes a scratch directory registers how to undo it; a benchmark's
// entry point calls `exitOnInterrupt()` so SIGINT, SIGTERM and SIGHUP run every undo
// (synchronously: the process is about to exit) and then exit as the signal would have.
// Tests do not install the handlers: vitest manages its own workers.
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

const cleanups = new Set<() => void>();
let installed = false;

/** Run `cleanup` if the process is interrupted (see `exitOnInterrupt`); the returned function unregisters it. */
export function atInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/**
 * Run every registered cleanup now, newest first (a cluster's processes are killed before
 * the directory they write in, registered when the cluster was made, is removed), each at
 * most once, none stopping the others.
 */
function runInterruptCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // best effort: the other cleanups still run
    }
  }
}

/**
 * On SIGINT, SIGTERM or SIGHUP: run the cleanups, then exit with 128 + the signal's
 * number. The handlers stay installed, so a second signal (Ctrl-C reaches a benchmark
 * from the terminal and again from the runner that forwards it) cannot end the process
 * halfway through the cleanups with the default action.
 */
export function exitOnInterrupt(): void {
  if (installed) return;
  installed = true;
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${signal}: stopping what this process started\n`);
      runInterruptCleanups();
      process.exit(128 + constants.signals[signal]);
    });
  }
}

/** A fresh directory under `parent` (the system's temporary directory by default), removed on interrupt until `remove()`. */
export function scratchDir(prefix: string, parent: string = tmpdir()): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(parent, prefix));
  const drop = () => rmSync(path, { recursive: true, force: true });
  const unregister = atInterrupt(drop);
  return {
    path,
    remove() {
      unregister();
      drop();
    },
  };
}
