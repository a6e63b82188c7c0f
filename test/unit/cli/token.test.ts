// `concord token --role <role>`: a fresh 32-byte base64url token and an auth.tokens entry the config accepts.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authSchema } from '../../../src/config/schema.js';

const here = import.meta.dirname;
const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : resolve(here, '../../..');
const cli = resolve(root, 'dist/src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'token', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('concord token', () => {
  it('prints a new random token and the entry to add to auth.tokens', () => {
    const first = run('--role', 'node');
    const second = run('--role', 'node');
    expect(first.status).toBe(0);
    const token = first.stdout.split('\n')[0];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes, base64url
    expect(second.stdout.split('\n')[0]).not.toBe(token);
    const entry = JSON.parse(first.stdout.split('\n').find((l) => l.startsWith('{'))!);
    expect(entry).toEqual({ token, role: 'node' });
    expect(authSchema.safeParse({ enabled: true, tokens: [entry] }).success).toBe(true);
    expect(first.stdout).toContain(`Authorization: Bearer ${token}`);
  });

  it('refuses a missing or unknown role', () => {
    expect(run('--role', 'root').status).not.toBe(0);
    expect(run('--role', 'root').stderr).toContain('admin, node, client, read');
    expect(run().status).not.toBe(0);
  });
});
