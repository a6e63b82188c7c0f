// One full collection of the JS heap after a bulk load (start-up, snapshot install).
//
// A load allocates a whole model and a great deal of garbage in under a second: the
// parsed blocks, the DuckDB result chunks behind them (native memory, freed by their
// wrappers' finalizers) and, after an install, the model it replaced. V8 then often ran
// no major collection for as long as we watched: at 1M replicas a node sat at ~245 MB
// (~260 MB after an install) for 20 s, ~170 MB once collected. A major collection is
// also what starts V8's memory reducer, which on an idle node later shrinks the young
// generation the load grew (~30 MB). So a load ends with one (~40 ms at that size).
//
// Node offers `gc()` only under --expose-gc; without it the function is taken from a
// fresh context after setting the flag for a moment, as test runners do to watch for
// leaks. The flag is cleared again, so no other context gains `gc`.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null = null;

function collector(): () => void {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Run a full, synchronous collection of the JS heap. */
export function collectGarbage(): void {
  collect ??= collector();
  collect();
}
