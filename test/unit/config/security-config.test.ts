// Security keys of the node config: tokens, rate_limit defaults, TLS files read at start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, formatProblems, loadConfig, readTlsMaterial } from '../../../src/config/index.js';
import { makeTestCerts } from '../../helpers/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'concord-secconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = { node_id: 'a', data_dir: '/tmp/a', enable_redundancy: false };
function load(extra: Record<string, unknown>) {
  const path = join(dir, 'c.json');
  writeFileSync(path, JSON.stringify({ ...base, ...extra }));
  return loadConfig({ file: path });
}

describe('security config', () => {
  it('defaults: auth and rate limiting off, no TLS', () => {
    const result = load({});
    expect(result.ok && result.config.rate_limit).toEqual({ enabled: false, max: 1000, window_ms: 1000 });
    expect(result.ok && result.config.auth).toEqual({ enabled: false, tokens: [] });
    expect(result.ok && result.config.tls).toBeUndefined();
  });

  it('accepts the hardened example configs/secure-node.json', () => {
    const result = loadConfig({ file: resolve(import.meta.dirname, '../../../configs/secure-node.json') });
    expect(result.ok, result.ok ? '' : formatProblems(result.problems)).toBe(true);
    expect(result.ok && result.config.auth.enabled && result.config.rate_limit.enabled && result.config.tls?.ca_file).toBeTruthy();
  });

  it('refuses unusable tokens and bad limits without printing the token', () => {
    const secret = 'has spaces in it 0123456789';
    const result = load({ auth: { enabled: true, tokens: [{ token: secret, role: 'read' }, { token: 'short', role: 'root' }] },
      rate_limit: { enabled: true, max: 0, window_ms: 10 } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = formatProblems(result.problems);
    for (const path of ['auth.tokens.0.token', 'auth.tokens.1.token', 'auth.tokens.1.role', 'rate_limit.max', 'rate_limit.window_ms']) expect(text).toContain(path);
    expect(text).not.toContain(secret);
    const dup = load({ auth: { enabled: true, tokens: [{ token: 'x'.repeat(20), role: 'read' }, { token: 'x'.repeat(20), role: 'admin' }] } });
    expect(dup.ok).toBe(false);
  });

  it('reads TLS files at start and names every missing or mismatched one', () => {
    const certs = makeTestCerts(dir);
    expect(readTlsMaterial({ cert_file: certs.cert, key_file: certs.key, ca_file: certs.ca })?.ca).toBeInstanceOf(Buffer);
    const missing = (() => { try { readTlsMaterial({ cert_file: join(dir, 'nope.pem'), key_file: certs.key, ca_file: join(dir, 'nope-ca.pem') }); } catch (e) { return e; } })();
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).problems.map((p) => p.path)).toEqual(['tls.cert_file', 'tls.ca_file']);
    const mismatch = (() => { try { readTlsMaterial({ cert_file: certs.ca, key_file: certs.key }); } catch (e) { return e; } })();
    expect((mismatch as ConfigError).problems[0].path).toBe('tls');
  });
});
