// The Raft module must stand alone (DESIGN §1): nothing under raft/ imports the
// coordinator (src/) or the monitoring tools, and raft/core stays pure so the
// simulator can drive it: no clocks, randomness, timers, files, sockets or process.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(pattern)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** Strip comments and string contents so a word in prose is not mistaken for a use. */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`/g, "''");
}

const raftFiles = sourceFiles(join(root, 'raft'));
const coreFiles = sourceFiles(join(root, 'raft/core'));

describe('dependency rule', () => {
  it('finds the Raft sources it checks', () => {
    expect(coreFiles.length).toBeGreaterThan(2);
  });

  it('raft/ never imports from src/ or monitoring/', () => {
    const offenders: string[] = [];
    for (const file of raftFiles) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = relative(root, resolve(file, '..', spec));
        if (target.startsWith('src/') || target.startsWith('monitoring/')) {
          offenders.push(`${relative(root, file)} -> ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('raft/core imports only raft/core and uses no clock, randomness, timer, fs, net, http or process', () => {
    const banned = /\b(Date|Math\.random|setTimeout|setInterval|setImmediate|queueMicrotask|performance|process|console|require)\b/;
    const offenders: string[] = [];
    for (const file of coreFiles) {
      const text = readFileSync(file, 'utf8');
      for (const spec of importsOf(text)) {
        const target = relative(root, resolve(file, '..', spec));
        if (!spec.startsWith('.') || !target.startsWith('raft/core')) offenders.push(`${relative(root, file)} imports ${spec}`);
      }
      const hit = codeOnly(text).match(banned);
      if (hit) offenders.push(`${relative(root, file)} uses ${hit[0]}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the checker itself catches a forbidden use', () => {
    const sample = "import { x } from 'node:fs';\nconst t = Date.now(); // Date in a comment is fine\n";
    expect(importsOf(sample)).toEqual(['node:fs']);
    expect(codeOnly(sample)).toMatch(/\bDate\b/);
    expect(codeOnly("const s = 'Date';")).not.toMatch(/\bDate\b/);
  });
});
