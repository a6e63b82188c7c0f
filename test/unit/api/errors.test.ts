// The error registry documents every code the HTTP layer, the domain and the Raft node answer with.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HTTP_ERRORS, statusOf } from '../../../src/api/errors.js';

const root = resolve(import.meta.dirname, '../../..');
const codesIn = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts'))
  .flatMap((f) => readFileSync(join(root, dir, f), 'utf8').match(/CONCORD_ERR_[A-Z_]+/g) ?? []);

describe('HTTP error registry', () => {
  it('documents every code used by src/api, src/state and the Raft node API, with a 4xx/5xx status', () => {
    const used = new Set([...codesIn('src/api'), ...codesIn('src/state'), ...codesIn('src/server'),
      ...(readFileSync(join(root, 'raft/node-api.ts'), 'utf8').match(/CONCORD_ERR_[A-Z_]+/g) ?? [])]);
    for (const code of used) expect(Object.keys(HTTP_ERRORS), code).toContain(code);
    for (const [code, entry] of Object.entries(HTTP_ERRORS)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.description.length, code).toBeGreaterThan(10);
    }
  });

  it('answers auth and rate-limit refusals with 401, 403 and 429', () => {
    expect([statusOf('CONCORD_ERR_UNAUTHENTICATED'), statusOf('CONCORD_ERR_FORBIDDEN'), statusOf('CONCORD_ERR_RATE_LIMITED')]).toEqual([401, 403, 429]);
  });
});
