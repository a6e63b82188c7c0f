// One full collection of the JS heap after a bulk load (start-up, snapshot install).
//
// A load allocates a whole model and a great deal of garbage in under a second: the
// parsed blocks, the DuckDB result chunks behind them (native memory, freed by their
// wrappers' finalizers) and, after an install, the model it replaced. V8 then often ran
// no major collection for as long as we watched: at 1M replicas a node sat at 246–267 MB
// after a start-up load (~258 MB after an install) for 20 s. With one collection it is
// 194–203 MB a second later. A major collection is also what starts V8's memory
// reducer, which on an idle node then shrinks the young generation the load grew
// (~30 MB; ~170 MB in all). So a load ends with one (~40 ms at that size).
//
// Node offers `gc()` only under --expose-gc; without it the function is taken from a
// fresh context after setting the flag for a moment, as test runners do to watch for
// leaks, and the flag is cleared again if it was clear before. The collection is only
// housekeeping: where no `gc` can be had (a process started with --expose-gc-as=NAME
// has it under that name only) it is skipped, never an error.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null = null;

function fromNewContext(): (() => void) | null {
  const value: unknown = runInNewContext('typeof gc === "function" ? gc : null');
  return typeof value === 'function' ? (value as () => void) : null;
}

function collector(): () => void {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  const skip = (): void => undefined;
  // The flag is set already (this context's gc was overwritten): leave it so.
  const existing = fromNewContext();
  if (existing !== null) return existing;
  setFlagsFromString('--expose-gc');
  try {
    return fromNewContext() ?? skip;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Run a full, synchronous collection of the JS heap, where this process allows one. */
export function collectGarbage(): void {
  collect ??= collector();
  collect();
}
