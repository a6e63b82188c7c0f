// The node logger redacts secrets wherever a logged object carries them.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/server/start.js';

describe('createLogger', () => {
  it('never writes tokens, the cluster secret or signatures', () => {
    const lines: string[] = [];
    const logger = createLogger({ node_id: 'n1', log_level: 'info' }, { write: (line: string) => { lines.push(line); } });
    const secret = 'very-secret-value-0123456789';
    logger.info({ req: { headers: { authorization: `Bearer ${secret}` } } }, 'a');
    logger.info({ headers: { authorization: `Bearer ${secret}`, 'x-concord-signature': secret, 'x-concord-forwarded': secret } }, 'b');
    logger.info({ config: { cluster_secret: secret, auth: { tokens: [{ token: secret, role: 'admin' }] } } }, 'c');
    logger.info({ auth: { tokens: [{ token: secret }] }, cluster_secret: secret, token: secret, authorization: secret }, 'd');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(line).toContain('[redacted]');
    }
  });
});
