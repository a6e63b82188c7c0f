// The block reader against a stand-in connection and block source: every row id once,
// in order; no more than `depth` blocks ahead of the consumer; blocks that run out of
// memory split; errors reach the consumer after the blocks read before them; close()
// waits for the statement in flight and starts no other.
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { BlockReader, type BlockSource } from '../../../src/state/store/block-reader.js';

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
