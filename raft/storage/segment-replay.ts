// Replaying segment files into a LogImage on open. A partial record at the end
// of the LAST segment is a torn write (cut off and reported); any bad record
// before that, or anywhere in a sealed segment, is corruption with file+offset.

import { readFile } from 'node:fs/promises';
import type { LogImage } from './log-image.js';
import { StorageError } from './errors.js';
import { HEADER_BYTES, RecordType, readRecord, type WalRecord } from './record.js';

export interface SegmentReplay {
  goodBytes: number;
  tornBytes: number;
  /** The highest entry index written in this segment (0: none); decides when compaction may delete it. */
  maxEntryIndex: number;
}

export async function replaySegment(path: string, image: LogImage, isLast: boolean): Promise<SegmentReplay> {
  const buffer = await readFile(path);
  let offset = 0;
  let maxEntryIndex = 0;
  // Bounded: every record is at least HEADER_BYTES long.
  for (let n = 0; n <= buffer.length / HEADER_BYTES + 1; n++) {
    const outcome = readRecord(buffer, offset);
    if (outcome.kind === 'end') return { goodBytes: offset, tornBytes: 0, maxEntryIndex };
    if (outcome.kind !== 'record') {
      // The last write of a crashed process may be cut off anywhere or leave
      // garbage behind: tolerated only at the end of the last segment, and only
      // when no valid record follows (a valid one after it means lost data).
      const reason = outcome.kind === 'torn' ? 'truncated record' : `record ${outcome.reason}`;
      if (!isLast) throw corrupt(`${reason} in a sealed segment`, path, offset);
      if (validRecordAfter(buffer, offset)) throw corrupt(`${reason} followed by valid records`, path, offset);
      return { goodBytes: offset, tornBytes: buffer.length - offset, maxEntryIndex };
    }
    if (outcome.record.type === RecordType.Entry) maxEntryIndex = Math.max(maxEntryIndex, outcome.record.entry.index);
    const problem = applyRecord(image, outcome.record);
    if (problem !== null) throw corrupt(problem, path, offset);
    offset = outcome.next;
  }
  throw new Error('replaySegment: record walk did not terminate'); // unreachable by construction
}

function corrupt(message: string, file: string, offset: number): StorageError {
  return new StorageError('CONCORD_ERR_STORAGE_CORRUPT', message, { file, offset });
}

function applyRecord(image: LogImage, record: WalRecord): string | null {
  switch (record.type) {
    case RecordType.Entry:
      return image.append([record.entry]);
    case RecordType.HardState:
      image.hardState = record.hardState;
      return null;
    case RecordType.Snapshot:
      image.installSnapshot(record.snapshot);
      return null;
    case RecordType.Compact:
      image.compact(record.through, record.snapshot);
      return null;
  }
}

/** Bytes scanned for a valid record after a bad one; a torn write is one batch, far smaller. */
const TAIL_SCAN_BYTES_MAX = 4 * 1024 * 1024;

/** Is there a valid record anywhere after `offset` (within the scan window)? */
function validRecordAfter(buffer: Buffer, offset: number): boolean {
  const end = Math.min(buffer.length - HEADER_BYTES, offset + TAIL_SCAN_BYTES_MAX);
  for (let p = offset + 1; p <= end; p++) {
    if (readRecord(buffer, p).kind === 'record') return true;
  }
  return false;
}
