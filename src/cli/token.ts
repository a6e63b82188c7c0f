// `concord token --role <role>`: a random bearer token (32 bytes, base64url) and the
// entry to add to `auth.tokens` on every node. Opaque random tokens are enough: every
// node holds the table, so there is nothing a signed token (JWT) would add.
import { randomBytes } from 'node:crypto';

export const TOKEN_ROLES = ['admin', 'node', 'client', 'read'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenInstructions(token: string, role: TokenRole): string {
  return [
    token,
    '',
    'Add this entry to "auth.tokens" in the config of every node (and set "auth.enabled": true), then restart them:',
    JSON.stringify({ token, role }),
    '',
    `Callers send it as: Authorization: Bearer ${token}`,
  ].join('\n');
}
