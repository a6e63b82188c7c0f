// The ajv check of log entries against zod, the schema's own parser, on generated
// commands and on mutations of them: whatever the check accepts, zod accepts and returns
// deep-equal (so apply sees the same command), and every value zod leaves unchanged (the
// form the leader encodes) passes the check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileOutputCheck } from '../../../src/state/command-check.js';
import { decodeCommand, encodeCommand, envelopeSchema, type CommandInput } from '../../../src/state/index.js';
import { commandArbitrary } from './command-arbitraries.js';

const check = compileOutputCheck(envelopeSchema, 'cmd');

const envelope = fc.record({
  ts: fc.nat(),
  key: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
  cmd: commandArbitrary(),
}).map(({ ts, key, cmd }): CommandInput => ({ v: 1, ts, ...(key === undefined ? {} : { idempotency_key: key }), cmd }));

/** Values at the edges of the schema's rules: lengths in code points against UTF-16 units, non-finite numbers, 33 stats. */
const edgeValues: readonly unknown[] = [
  undefined, null, true, 0, -0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '', 'x', 'y'.repeat(129),
  '\u{1F600}'.repeat(128), '\u{1F600}'.repeat(129), 'e\u0301'.repeat(64), 'e\u0301'.repeat(65), '\uD800'.repeat(129), [], [''], ['a'], {}, { a: 1 }, { a: Number.NaN },
  Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`s${i}`, i])), 'task.submit', 'node.register', JSON.parse('{"__proto__":"x"}'),
];

type Path = readonly (string | number)[];

function paths(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [at];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [at, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...at, k]))];
}

/** A copy of `root` with the value at `path` replaced (`set`), removed (`drop`) or given an extra key (`extra`). */
function mutate(root: unknown, path: Path, kind: 'set' | 'drop' | 'extra', value: unknown): unknown {
  if (path.length === 0) return kind === 'set' ? value : root;
  const copy = (Array.isArray(root) ? [...root] : { ...(root as object) }) as Record<string | number, unknown>;
  const [head, ...rest] = path;
  if (rest.length > 0) copy[head] = mutate(copy[head], rest, kind, value);
  else if (kind === 'set') copy[head] = value;
  else if (kind === 'drop') { if (Array.isArray(copy)) copy.splice(head as number, 1); else delete copy[head]; }
  else if (copy[head] !== null && typeof copy[head] === 'object' && !Array.isArray(copy[head])) copy[head] = { ...(copy[head] as object), extra: value };
  return copy;
}

const mutated = fc.tuple(envelope, fc.nat(), fc.constantFrom('set', 'drop', 'extra' as const), fc.oneof(fc.constantFrom(...edgeValues), fc.jsonValue({ maxDepth: 2 })))
  .map(([input, pick, kind, value]) => {
    const base = envelopeSchema.parse(input);
    const all = paths(base);
    return mutate(base, all[pick % all.length], kind, value);
  });

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

describe('the compiled command check', () => {
  it('accepts every envelope the leader encodes, and decodes it to what zod makes of it', () => {
    fc.assert(fc.property(envelope, (input) => {
      const parsed = envelopeSchema.parse(input);
      expect(check(parsed)).toBe(true);
      expect(decodeCommand(encodeCommand(input))).toEqual(roundTrip(parsed));
    }), { numRuns: 500 });
  });

  it('accepts nothing zod would refuse or change, and everything zod leaves as it is', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(fc.property(mutated, (value) => {
      const zod = envelopeSchema.safeParse(value);
      if (check(value)) {
        accepted++;
        expect(zod.success).toBe(true);
        expect(roundTrip(zod.data)).toEqual(roundTrip(value));
      } else {
        refused++;
      }
      // A value as it comes out of JSON.parse (what decoding sees): zod leaves it unchanged ⇔ the check takes it.
      const json = roundTrip(value);
      const fromJson = envelopeSchema.safeParse(json);
      const unchanged = fromJson.success && JSON.stringify(fromJson.data) === JSON.stringify(json);
      expect(check(json)).toBe(unchanged);
    }), { numRuns: 3000 });
    // Both sides were exercised (the mutations are not all harmless, nor all fatal).
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('counts string lengths in code points and refuses non-finite numbers, as zod does', () => {
    const task = (id: string, priority: number) => ({ v: 1, ts: 1, cmd: { type: 'task.submit', id, kind: 'k', payload: null, priority, required_capabilities: [] } });
    expect(check(task('\u{1F600}'.repeat(128), 0))).toBe(true); // 256 UTF-16 units, 128 code points: the limit
    expect(check(task('\u{1F600}'.repeat(129), 0))).toBe(false);
    expect(check(task('a', Number.POSITIVE_INFINITY))).toBe(false);
    expect(check({ ...task('a', 0), cmd: { type: 'no.such' } })).toBe(false);
    const beat = (stats: Record<string, number>) => ({ v: 1, ts: 1, cmd: { type: 'node.heartbeat_batch', beats: [{ id: 'n', used_bytes: 0, stats }] } });
    expect(check(beat(Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`s${i}`, i]))))).toBe(true);
    expect(check(beat(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`s${i}`, i]))))).toBe(false);
    // A stat is any finite number: NaN, and the Infinity JSON.parse makes of 1e400, are not.
    expect(check(beat({ a: 1.5 }))).toBe(true);
    expect(check(beat({ a: Number.NaN }))).toBe(false);
    const text = JSON.stringify(beat({ a: 7 })).replace('"a":7', '"a":1e400');
    expect(decodeCommand(new TextEncoder().encode(text))).toBeNull();
    expect(decodeCommand(new TextEncoder().encode(text.replace('1e400', '1e300')))).not.toBeNull();
  });

  it('refuses a record with an own __proto__ key, which zod would drop', () => {
    const text = '{"v":1,"ts":1,"cmd":{"type":"node.register","id":"n","addresses":["a:1"],"storage_capacity":1,"capabilities":{"__proto__":"x","ok":"y"}}}';
    const value: unknown = JSON.parse(text);
    expect(check(value)).toBe(false);
    expect(envelopeSchema.parse(value).cmd).toMatchObject({ capabilities: { ok: 'y' } });
    expect(Object.keys((envelopeSchema.parse(value).cmd as { capabilities: object }).capabilities)).toEqual(['ok']);
    expect(decodeCommand(new TextEncoder().encode(text))).toBeNull();
    expect(check(JSON.parse(text.replace('"__proto__":"x",', '')))).toBe(true);
  });

  it('encodes a command that is not in output form through zod: defaults filled, unknown keys dropped', () => {
    const bytes = encodeCommand({ v: 1, ts: 1, cmd: { type: 'task.submit', id: 't', kind: 'k', payload: null, extra: 1 } as never });
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({ v: 1, ts: 1, cmd: { type: 'task.submit', id: 't', kind: 'k', payload: null, priority: 0, required_capabilities: [] } });
    expect(() => encodeCommand({ v: 1, ts: 1, cmd: { type: 'task.submit', id: '', kind: 'k', payload: null } })).toThrow();
  });

  it('keeps every encoded command intact while later ones are encoded, apart from Node\'s shared buffer pool', () => {
    fc.assert(fc.property(fc.array(envelope, { minLength: 50, maxLength: 150 }), (envelopes) => {
      const kept: [Uint8Array, Buffer][] = [];
      // Small commands by the thousand fill several slabs; the generated ones add every shape and size.
      for (let i = 0; i < 1500; i++) {
        const bytes = encodeCommand({ v: 1, ts: i, cmd: { type: 'task.cancel', id: `task-${i}` } });
        kept.push([bytes, Buffer.from(bytes)]);
      }
      for (const e of envelopes) {
        const bytes = encodeCommand(e);
        kept.push([bytes, Buffer.from(bytes)]);
      }
      const pooled = Buffer.from('a small pooled buffer');
      for (const [bytes, copy] of kept) {
        expect(Buffer.from(bytes).equals(copy)).toBe(true);
        expect(bytes.buffer).not.toBe(pooled.buffer);
      }
    }), { numRuns: 5 });
    const large = encodeCommand({ v: 1, ts: 1, cmd: { type: 'task.submit', id: 't', kind: 'k', payload: 'é'.repeat(3000) } });
    expect(large.buffer.byteLength).toBe(large.byteLength); // more than a slab's share: a buffer of its own
  });
});
