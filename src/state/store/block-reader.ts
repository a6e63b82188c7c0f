// Bulk reads of a table in blocks of row ids, DuckDB working ahead of JS. DuckDB
// returns a block of rows as one JSON text (and, for some reads, a BLOB beside it), so
// one string crosses into JS per block instead of one per long value (through the
// node-api every long string value is a native call, ~1.3 µs), and JSON.parse builds
// the rows.
import { DuckDBBlobVector, type DuckDBConnection } from '@duckdb/node-api';

/** The first block spans BLOCK_ROWS_FIRST row ids; later ones are sized for about BLOCK_BYTES of text (see `textBlocks`). */
const BLOCK_ROWS_FIRST = 4_096;
const BLOCK_ROWS_MAX = 262_144;
const BLOCK_BYTES = 4 * 2 ** 20;
/** Blocks a bulk load has DuckDB read ahead of JS (each about BLOCK_BYTES of text). */
export const READ_AHEAD_BLOCKS = 4;

/** A block read as text (a JSON array; null for no rows) and, for a statement with a second value, a BLOB (empty otherwise). */
export interface TextBlock { readonly text: string | null; readonly bytes: Uint8Array }

const NO_BYTES = new Uint8Array(0);

/** How a `BlockReader` reads a block and sizes the next. */
export interface BlockSource<T> {
  /** Row ids in the first block. */
  readonly firstSpan: number;
  /** Run the block's statement; `where(alias)` restricts the table (as `alias`) to the block. */
  read(connection: DuckDBConnection, where: (alias?: string) => string): Promise<T>;
  /** Row ids in the block after one of `span` row ids that read `block`. */
  nextSpan(block: T, span: number): number;
}

/**
 * Blocks whose first value is the text of a JSON array (NULL for none) and whose second,
 * if there is one, a BLOB. The first block spans BLOCK_ROWS_FIRST row ids; each later
 * one is sized from the bytes per row id of the one before, for about BLOCK_BYTES (the
 * BLOB counting twice: DuckDB built it from hex).
 */
export function textBlocks(select: (where: (alias?: string) => string) => string): BlockSource<TextBlock> {
  return {
    firstSpan: BLOCK_ROWS_FIRST,
    read: async (connection, where) => {
      // One row (the statement aggregates). The BLOB's bytes are taken as the binding hands
      // them over: `getRows()` copies each once more (~13 ms of a load's profile; in wall
      // time within the noise, three interleaved pairs).
      const chunk = await (await connection.run(select(where))).fetchChunk();
      if (chunk === null || chunk.rowCount !== 1) throw new Error(`a block read gave ${chunk?.rowCount ?? 0} rows, not 1`);
      const text = chunk.getColumnVector(0).getItem(0);
      const blob = chunk.columnCount > 1 ? chunk.getColumnVector(1) : null;
      return { text: text === null ? null : String(text), bytes: blob instanceof DuckDBBlobVector ? blob.getItemBytes(0) ?? NO_BYTES : NO_BYTES };
    },
    nextSpan: (block, span) => {
      const bytes = (block.text?.length ?? 0) + 2 * block.bytes.length;
      return bytes === 0 ? span : Math.max(1, Math.min(BLOCK_ROWS_MAX, Math.floor((span * BLOCK_BYTES) / bytes)));
    },
  };
}

/**
 * Reads a table in blocks of row ids, in order, on its own connection, up to `depth`
 * blocks ahead of the consumer (`next`): DuckDB reads the next blocks while JS takes in
 * this one. A block's span is halved while DuckDB runs out of memory reading it (at
 * `db_memory_limit` 64 a 20 MB text does).
 */
export class BlockReader<T> {
  readonly #ready: T[] = [];
  #done = false;
  #closed = false;
  #error: unknown = undefined;
  #wake: (() => void) | null = null;
  readonly #running: Promise<void>;

  constructor(private readonly connection: DuckDBConnection, private readonly table: string,
    private readonly source: BlockSource<T>, private readonly depth: number) {
    this.#running = this.#produce().catch((error: unknown) => { this.#error = error; }).finally(() => {
      this.#done = true;
      this.#signal();
    });
  }

  /** The next block, or undefined after the last. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.#ready.length > 0) {
        const block = this.#ready.shift();
        this.#signal();
        return block;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#done) return undefined;
      await new Promise<void>((resolve) => { this.#wake = resolve; });
    }
  }

  /** Stop reading ahead (the consumer is done or gave up) and wait for the statement in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#signal();
    await this.#running;
  }

  /** Wake whichever side waits: the consumer for a block, or the producer for room. */
  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #produce(): Promise<void> {
    const [bounds] = (await this.connection.runAndReadAll(`SELECT min(rowid), max(rowid) FROM ${this.table}`)).getRows();
    if (bounds[0] === null) return;
    const last = Number(bounds[1]);
    let from = Number(bounds[0]);
    let span = this.source.firstSpan;
    while (from <= last) {
      while (this.#ready.length >= this.depth && !this.#closed) await new Promise<void>((resolve) => { this.#wake = resolve; });
      if (this.#closed) return;
      const { block, used } = await this.#read(from, span);
      this.#ready.push(block);
      this.#signal();
      from += used;
      span = this.source.nextSpan(block, used);
    }
  }

  async #read(from: number, span: number): Promise<{ block: T; used: number }> {
    for (;;) {
      const to = from + span;
      const where = (alias?: string) => {
        const rowid = alias === undefined ? 'rowid' : `${alias}.rowid`;
        return `${rowid} >= ${from} AND ${rowid} < ${to}`;
      };
      try {
        return { block: await this.source.read(this.connection, where), used: span };
      } catch (error) {
        if (span === 1 || !String(error).includes('Out of Memory')) throw error;
        span = Math.ceil(span / 2);
      }
    }
  }
}

/** What takes in a block (its rows: the text, parsed; and its BLOB) in slices, yielding between them. */
export type SlicedBlockVisit = (values: unknown[], bytes: Uint8Array) => Iterator<unknown>;

/** Parse and visit each block `reader` reads, in order, in one piece. */
export async function visitBlocks(reader: BlockReader<TextBlock>, visit: (values: unknown[], bytes: Uint8Array) => void): Promise<void> {
  await visitBlocksAsReady([[reader, function* whole(values, bytes) { visit(values, bytes); yield; }]]);
}

/**
 * Parse and visit the blocks of several readers: JS takes whichever block DuckDB has
 * ready, each reader's in order, so no table waits for another to be done. The first
 * error ends it (the caller closes the readers).
 *
 * A statement's result reaches its reader, and the reader's next statement starts, only
 * on a turn of the event loop: a visit that kept JS busy for a whole block (20–50 ms at
 * 4 MB) left DuckDB idle for about half of it at each step of each reader. So visits go
 * in slices of a few hundred rows, with a turn of the event loop after each: a load at
 * 1M replicas went from ~0.9 to ~0.8 s.
 */
export async function visitBlocksAsReady(sources: readonly (readonly [BlockReader<TextBlock>, SlicedBlockVisit])[]): Promise<void> {
  const pending = new Map<number, Promise<readonly [number, TextBlock | undefined]>>();
  const ask = (i: number): void => {
    const next = sources[i][0].next().then((block) => [i, block] as const);
    next.catch(() => undefined); // a later reader's error must not go unhandled once the first has ended this
    pending.set(i, next);
  };
  const turn = (): Promise<void> => new Promise<void>((resolve) => { setImmediate(resolve); });
  sources.forEach((_, i) => ask(i));
  while (pending.size > 0) {
    const [i, block] = await Promise.race(pending.values());
    pending.delete(i);
    if (block === undefined) continue;
    if (block.text === null && block.bytes.length === 0) {
      ask(i);
      continue;
    }
    const values = block.text === null ? [] : JSON.parse(block.text) as unknown[];
    await turn();
    const slices = sources[i][1](values, block.bytes);
    while (slices.next().done !== true) await turn();
    ask(i);
  }
}
