// Shared helpers for storage tests: temp dirs and entry builders.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../raft/core/types.js';

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'concord-storage-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

/** Comparable form of entries (Uint8Array → string). */
export function plain(list: readonly Entry[]): { index: number; term: number; type: string; data: string }[] {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}
