// TLS material from the `tls` config keys, read once at start. A missing or unreadable
// file, or a key that does not match its certificate, is a config error (exit code 2).
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { ConfigProblem } from './load.js';
import type { ConcordConfig } from './schema.js';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA bundle that verifies peers' (and clients') certificates; enables mutual TLS between nodes. */
  readonly ca?: Buffer;
}

/** A config problem found after schema validation (files, certificates). */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.path}: expected ${p.expected}, got ${p.got}`).join('; '));
    this.name = 'ConfigError';
  }
}

export function readTlsMaterial(tls: ConcordConfig['tls']): TlsMaterial | undefined {
  if (tls === undefined) return undefined;
  const problems: ConfigProblem[] = [];
  const read = (key: 'cert_file' | 'key_file' | 'ca_file', file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      problems.push({ path: `tls.${key}`, expected: 'a readable PEM file', got: `${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      return undefined;
    }
  };
  const cert = read('cert_file', tls.cert_file);
  const key = read('key_file', tls.key_file);
  const ca = read('ca_file', tls.ca_file);
  if (cert !== undefined && key !== undefined) {
    try {
      createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
    } catch (error) {
      // The message names the failure (bad PEM, key mismatch), never the key's contents.
      problems.push({ path: 'tls', expected: 'a PEM certificate and its matching private key (and a PEM CA bundle)', got: (error as Error).message });
    }
  }
  if (problems.length > 0 || cert === undefined || key === undefined) throw new ConfigError(problems);
  return { cert, key, ...(ca === undefined ? {} : { ca }) };
}
