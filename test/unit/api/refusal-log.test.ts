// Refused requests are logged one line per class per interval; the next line of a class
// counts the ones left out; other errors (a command's own outcome) are not refusals.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { markRefusal, RefusalLog } from '../../../src/api/refusal-log.js';

function setup() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  let now = 1_000;
  const log = new RefusalLog(logger, 10_000, () => now);
  const request = { ip: '127.0.0.9', method: 'POST', routeOptions: { url: '/api/v1/tasks' }, concordPrincipal: { tokenId: 'abcdef012345', role: 'read' } } as unknown as FastifyRequest;
  const refuse = async (code: string, status: number) => {
    const reply = { statusCode: status } as unknown as FastifyReply;
    markRefusal(reply, code, `refused with ${code}`);
    await new Promise<void>((done) => log.onResponse(request, reply, done));
  };
  return { lines, refuse, advance: (ms: number) => { now += ms; } };
}

describe('RefusalLog', () => {
  it('logs the first refusal of a class at once, then at most one line per interval with the count left out', async () => {
    const { lines, refuse, advance } = setup();
    await refuse('CONCORD_ERR_VALIDATION', 400);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'refused API request', code: 'CONCORD_ERR_VALIDATION', status: 400, source: '127.0.0.9',
      method: 'POST', route: '/api/v1/tasks', token_id: 'abcdef012345', reason: 'refused with CONCORD_ERR_VALIDATION', suppressed: 0 });
    for (let i = 0; i < 5; i++) await refuse('CONCORD_ERR_VALIDATION', 400);
    await refuse('CONCORD_ERR_RATE_LIMITED', 429); // another class has its own interval
    expect(lines.map((l) => l.code)).toEqual(['CONCORD_ERR_VALIDATION', 'CONCORD_ERR_RATE_LIMITED']);
    advance(9_999);
    await refuse('CONCORD_ERR_VALIDATION', 400);
    expect(lines).toHaveLength(2);
    advance(1);
    await refuse('CONCORD_ERR_VALIDATION', 400);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ code: 'CONCORD_ERR_VALIDATION', suppressed: 6 });
  });

  it('does not log a command outcome (an unknown id, a task held by another worker)', async () => {
    const { lines, refuse } = setup();
    await refuse('CONCORD_ERR_NOT_FOUND', 404);
    await refuse('CONCORD_ERR_NOT_LEASE_HOLDER', 409);
    expect(lines).toEqual([]);
  });
});
