// The block reader against a stand-in connection and block source: every row id once,
// in order; no more than `depth` blocks ahead of the consumer; blocks that run out of
// memory split; errors reach the consumer after the blocks read before them; close()
// waits for the statement in flight and starts no other. Several readers visited
// together: blocks taken as they come, each reader's in order, the event loop turning
// between a visit's slices, the first error ending it.
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { BlockReader, type BlockSource, type TextBlock, visitBlocksAsReady } from '../../../src/state/store/block-reader.js';

type Range = [number, number];

/** A connection whose table holds row ids first … last (only the bounds query runs on it). */
const connection = (first: number | null, last: number | null) =>
  ({ runAndReadAll: () => Promise.resolve({ getRows: () => [[first, last]] }) }) as unknown as DuckDBConnection;

/** The [from, to) a block's `where` names. */
function rangeOf(where: (alias?: string) => string): Range {
  const match = /rowid >= (\d+) AND rowid < (\d+)/.exec(where());
  if (match === null) throw new Error(`unexpected block filter: ${where()}`);
  return [Number(match[1]), Number(match[2])];
}

function source(read: (range: Range) => Promise<Range> | Range, firstSpan = 3, next = 7): BlockSource<Range> & { started: Range[] } {
  const started: Range[] = [];
  return {
    started, firstSpan,
    read: async (_connection, where) => {
      const range = rangeOf(where);
      started.push(range);
      return read(range);
    },
    nextSpan: () => next,
  };
}

async function drain<T>(reader: BlockReader<T>): Promise<T[]> {
  const blocks: T[] = [];
  for (let block = await reader.next(); block !== undefined; block = await reader.next()) blocks.push(block);
  return blocks;
}

/** Let every promise that can settle without outside help settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('BlockReader', () => {
  it('reads every row id once, in order, the first block then spans from nextSpan', async () => {
    const reader = new BlockReader(connection(5, 20), 't', source((range) => range), 2);
    expect(await drain(reader)).toEqual([[5, 8], [8, 15], [15, 22]]);
    expect(await reader.next()).toBeUndefined();
    await reader.close();
  });

  it('reads nothing from an empty table', async () => {
    const blocks = source((range) => range);
    const reader = new BlockReader(connection(null, null), 't', blocks, 2);
    expect(await drain(reader)).toEqual([]);
    expect(blocks.started).toEqual([]);
  });

  it('keeps at most depth blocks ahead of the consumer', async () => {
    const blocks = source((range) => range, 1, 1);
    const reader = new BlockReader(connection(0, 99), 't', blocks, 3);
    await settle();
    expect(blocks.started).toHaveLength(3);
    expect(await reader.next()).toEqual([0, 1]);
    await settle();
    expect(blocks.started).toHaveLength(4);
    await reader.close();
    await settle();
    expect(blocks.started).toHaveLength(4); // closed: nothing more is read
  });

  it('splits a block DuckDB runs out of memory on, and covers every row id', async () => {
    const blocks = source((range) => {
      if (range[1] - range[0] > 4) throw new Error('Out of Memory Error: failed to allocate');
      return range;
    }, 16, 16);
    const reader = new BlockReader(connection(0, 40), 't', blocks, 1);
    const read = await drain(reader);
    expect(read.every(([from, to]) => to - from <= 4)).toBe(true);
    const covered = read.flatMap(([from, to]) => Array.from({ length: to - from }, (_, i) => from + i)).filter((id) => id <= 40);
    expect(covered).toEqual(Array.from({ length: 41 }, (_, i) => i));
  });

  it('gives the blocks read before an error, then the error; other errors are not split', async () => {
    const blocks = source((range) => {
      if (range[0] >= 10) throw new Error('disk gone');
      return range;
    }, 5, 5);
    const reader = new BlockReader(connection(0, 30), 't', blocks, 4);
    expect(await reader.next()).toEqual([0, 5]);
    expect(await reader.next()).toEqual([5, 10]);
    await expect(reader.next()).rejects.toThrow('disk gone');
    expect(blocks.started.filter(([from]) => from >= 10)).toEqual([[10, 15]]);
    await reader.close();
  });

  it('close() waits for the statement in flight and starts no other', async () => {
    let finish: (range: Range) => void = () => undefined;
    const blocks = source((range) => new Promise<Range>((resolve) => { finish = () => resolve(range); }));
    const reader = new BlockReader(connection(0, 99), 't', blocks, 2);
    await settle();
    expect(blocks.started).toEqual([[0, 3]]);
    let closed = false;
    const closing = reader.close().then(() => { closed = true; });
    await settle();
    expect(closed).toBe(false);
    finish([0, 3]);
    await closing;
    expect(blocks.started).toEqual([[0, 3]]);
  });
});

/** A text block naming its range, as a reader of `source` gives it. */
const textSource = (read: (range: Range) => Promise<void> | void, firstSpan = 3, next = 7): BlockSource<TextBlock> => ({
  firstSpan,
  read: async (_connection, where) => {
    const range = rangeOf(where);
    await read(range);
    return { text: JSON.stringify(range), bytes: new Uint8Array(0) };
  },
  nextSpan: () => next,
});

describe('visitBlocksAsReady', () => {
  it('visits every block of every reader once, each reader in order, taking whichever is ready', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    // A's second block waits until B has been visited to its end: taken one reader after the other, this never ends.
    const a = new BlockReader(connection(0, 9), 'a', textSource((range) => (range[0] === 3 ? gate : undefined)), 2);
    const b = new BlockReader(connection(100, 120), 'b', textSource(() => undefined), 2);
    const seen: string[] = [];
    const visit = (name: string) => function* (values: unknown[]): Generator<void> {
      seen.push(`${name}${String(values[0])}`);
      if (name === 'b' && values[0] === 117) release();
      yield;
    };
    await visitBlocksAsReady([[a, visit('a')], [b, visit('b')]]);
    expect(seen.filter((s) => s.startsWith('a'))).toEqual(['a0', 'a3']);
    expect(seen.filter((s) => s.startsWith('b'))).toEqual(['b100', 'b103', 'b110', 'b117']);
    expect(seen.indexOf('b117')).toBeLessThan(seen.indexOf('a3'));
    await Promise.all([a.close(), b.close()]);
  });

  it('lets the event loop turn between the slices of a visit', async () => {
    const reader = new BlockReader(connection(0, 2), 't', textSource(() => undefined), 1);
    const order: string[] = [];
    await visitBlocksAsReady([[reader, function* visit(): Generator<void> {
      setImmediate(() => order.push('event loop'));
      order.push('slice 1');
      yield;
      order.push('slice 2');
      yield;
      order.push('slice 3');
    }]]);
    expect(order.indexOf('event loop')).toBeGreaterThan(0);
    expect(order.indexOf('event loop')).toBeLessThan(order.indexOf('slice 3'));
    await reader.close();
  });

  it('ends with the first error; a later one of another reader is handled, not left unhandled', async () => {
    let failLater: () => void = () => undefined;
    const later = new Promise<void>((_resolve, reject) => { failLater = () => reject(new Error('second')); });
    const a = new BlockReader(connection(0, 9), 'a', textSource(() => { throw new Error('first'); }), 1);
    const b = new BlockReader(connection(0, 9), 'b', textSource(() => later), 1);
    await expect(visitBlocksAsReady([[a, function* visit(): Generator<void> { yield; }], [b, function* visit(): Generator<void> { yield; }]])).rejects.toThrow('first');
    failLater();
    await settle();
    await a.close();
    await b.close();
    await expect(b.next()).rejects.toThrow('second');
  });
});
