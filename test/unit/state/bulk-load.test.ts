// A files block as a load reads it (see `filesSelect`): the row text and the BLOB of
// packed rows' hashes, each after a tag of its rowid and hex length. The two come from
// separate aggregates, so the loader must refuse hashes that are not the row's own.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, Model } from '../../../src/state/model.js';
import { loadFiles as fileSlices } from '../../../src/state/store/bulk-load.js';

const hashOf = (digit: string): string => digit.repeat(64);

/** Take a whole block in. */
function loadFiles(model: Model, values: unknown[], bytes: Uint8Array): void {
  for (const _ of fileSlices(model, values, bytes));
}

/** A packed row's values and its tagged hashes, as `filesSelect` gives them. */
function packedRow(rowid: number, id: string, hashes: string[], hexLength = 64 * hashes.length): { values: unknown[]; bytes: Buffer } {
  const tag = Buffer.alloc(12);
  tag.writeUInt32BE(Math.floor(rowid / 2 ** 32), 0);
  tag.writeUInt32BE(rowid % 2 ** 32, 4);
  tag.writeUInt32BE(hexLength, 8);
  return { values: [id, null, `name-${id}`, 10, null, 1, 0, hashes.map(() => 5), rowid], bytes: Buffer.concat([tag, ...hashes.map((h) => Buffer.from(h, 'hex'))]) };
}

function block(...rows: { values: unknown[]; bytes: Buffer }[]): [unknown[], Uint8Array] {
  return [rows.flatMap((r) => r.values), new Uint8Array(Buffer.concat(rows.map((r) => r.bytes)))];
}

describe('loadFiles', () => {
  it('takes each packed row with its own hashes, rowids beyond 32 bits included', () => {
    const model = new Model(DEFAULT_LIMITS);
    loadFiles(model, ...block(packedRow(7, 'f1', [hashOf('a'), hashOf('b')]), packedRow(2 ** 40 + 3, 'f2', [hashOf('c')])));
    expect(model.files.get('f1')?.chunks).toEqual([{ hash: hashOf('a'), size: 5 }, { hash: hashOf('b'), size: 5 }]);
    expect(model.files.get('f2')?.chunks).toEqual([{ hash: hashOf('c'), size: 5 }]);
  });

  it('refuses hashes whose tag names another row (rows and hashes out of step)', () => {
    const [first, second] = [packedRow(7, 'f1', [hashOf('a')]), packedRow(8, 'f2', [hashOf('b')])];
    const [values] = block(first, second);
    const [, bytes] = block(second, first);
    expect(() => loadFiles(new Model(DEFAULT_LIMITS), values, bytes)).toThrow(/out of step/);
  });

  it('refuses a tag whose hex length does not fit the sizes, and bytes left over or missing', () => {
    expect(() => loadFiles(new Model(DEFAULT_LIMITS), ...block(packedRow(1, 'f1', [hashOf('a')], 63)))).toThrow(/do not fit its sizes/);
    const [values, bytes] = block(packedRow(1, 'f1', [hashOf('a')]));
    expect(() => loadFiles(new Model(DEFAULT_LIMITS), values, bytes.subarray(0, bytes.length - 1))).toThrow(/fewer hash bytes/);
    expect(() => loadFiles(new Model(DEFAULT_LIMITS), values, new Uint8Array([...bytes, 0]))).toThrow(/hash bytes, its packed rows took/);
  });
});
