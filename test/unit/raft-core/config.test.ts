import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RAFT_LIMITS, createSeededRandom, decodeConfChange, encodeConfChange, validateRaftConfig,
} from '../../../raft/core/index.js';

const base = { id: 'n1', electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 2, random: createSeededRandom(1) };

describe('validateRaftConfig', () => {
  it('fills defaults; persistStallTicksMax defaults to electionTicksMax', () => {
    const config = validateRaftConfig(base);
    expect(config.inflightMessagesMax).toBe(DEFAULT_RAFT_LIMITS.inflightMessagesMax);
    expect(config.preVote).toBe(true);
    expect(config.checkQuorum).toBe(true);
    expect(config.persistStallTicksMax).toBe(20);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad field in one RangeError', () => {
    let error: unknown;
    try {
      validateRaftConfig({ ...base, electionTicksMin: 4, electionTicksMax: 3, appendEntriesMax: 0, inflightMessagesMax: 1.5 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RangeError);
    const message = (error as RangeError).message;
    for (const field of ['electionTicksMin', 'electionTicksMax', 'appendEntriesMax', 'inflightMessagesMax']) {
      expect(message).toContain(field);
    }
  });
});

describe('conf change codec', () => {
  it('round-trips and validates', () => {
    const change = { type: 'addLearner', node: 'n4', address: '127.0.0.1:9' } as const;
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
    expect(decodeConfChange(encodeConfChange({ type: 'remove', node: 'n2' }))).toEqual({ type: 'remove', node: 'n2' });
    const bad = (text: string) => () => decodeConfChange(new TextEncoder().encode(text));
    expect(bad('not json')).toThrow(TypeError);
    expect(bad('{"type":"explode","node":"a"}')).toThrow(/type/);
    expect(bad('{"type":"remove","node":""}')).toThrow(/node/);
    expect(bad('{"type":"remove","node":"a","address":3}')).toThrow(/address/);
    expect(() => decodeConfChange(new Uint8Array([0xff, 0xfe]))).toThrow(TypeError);
  });
});

describe('createSeededRandom', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    const a = createSeededRandom(42);
    const b = createSeededRandom(42);
    const c = createSeededRandom(43);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('purity of raft/core', () => {
  it('uses no clock, randomness, timers, I/O or console', () => {
    const dir = new URL('../../../raft/core/', import.meta.url);
    const forbidden = /\bDate\b|Math\.random|setTimeout|setInterval|setImmediate|\bprocess\.|console\.|from ['"](node:)?(fs|net|http|https|child_process|os)['"]/;
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const code = readFileSync(new URL(file, dir), 'utf8').replace(/\/\/.*$/gm, '');
      expect(forbidden.exec(code)?.[0], file).toBeUndefined();
    }
  });
});
