// Peer codec benchmark: the binary append framing in use against the JSON codec
// (entry data base64) it replaced, encode + decode of batches of 1, 64 and 512
// entries of 200 bytes. Run: node dist/test/bench/codec-bench.js
import type { AppendMessage, Entry } from '../../raft/core/index.js';
import { decodeMessages, encodeMessages } from '../../raft/transport/index.js';
import { median, round } from './stats.js';

/** The JSON codec the transport used first (entry data as base64), for comparison. */
function jsonRoundTrip(message: AppendMessage): AppendMessage {
  const text = JSON.stringify({ ...message, entries: message.entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString('base64') })) });
  const parsed = JSON.parse(text) as Omit<AppendMessage, 'entries'> & { entries: (Omit<Entry, 'data'> & { data: string })[] };
  return { ...parsed, entries: parsed.entries.map((e) => ({ ...e, data: new Uint8Array(Buffer.from(e.data, 'base64')) })) };
}

function batch(entries: number): AppendMessage {
  const data = new Uint8Array(200).fill(65);
  return { type: 'append', from: 'node-1', to: 'node-2', term: 7, prevIndex: 1000, prevTerm: 7, commit: 990,
    entries: Array.from({ length: entries }, (_, i) => ({ index: 1001 + i, term: 7, type: 'normal' as const, data })) };
}

function measure(run: () => void, entries: number): number {
  const samples: number[] = [];
  for (let round = 0; round < 7; round++) {
    const started = performance.now();
    let ops = 0;
    while (performance.now() - started < 200) { run(); ops++; }
    samples.push((ops * entries) / ((performance.now() - started) / 1000));
  }
  return median(samples);
}

const rows = [1, 64, 512].map((entries) => {
  const message = batch(entries);
  const json = measure(() => jsonRoundTrip(message), entries);
  const binary = measure(() => decodeMessages(encodeMessages([message])), entries);
  return { entries, json_entries_per_s: round(json), binary_entries_per_s: round(binary), binary_over_json: round(binary / json, 2),
    json_bytes: JSON.stringify({ ...message, entries: message.entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString('base64') })) }).length,
    binary_bytes: encodeMessages([message]).length };
});
console.log(JSON.stringify(rows, null, 2));
