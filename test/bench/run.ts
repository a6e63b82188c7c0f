// Benchmark runner: `npm run bench` runs every benchmark in turn, each in its own
// process; `npm run bench -- server raft` runs only those; flags after the names
// (`--seconds 3`) go to each selected benchmark.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const BENCHES: Record<string, string> = {
  codec: 'codec-bench.js',
  storage: 'storage-bench.js',
  state: 'state-bench.js',
  scale: 'scale-bench.js',
  raft: 'raft-bench.js',
  server: 'server-bench.js',
};

const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((a) => a.startsWith('--'));
const names = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : argv.slice(firstFlag);
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}

let failed = 0;
for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
  process.stderr.write(`== bench ${name}\n`);
  const child = spawn(process.execPath, [resolve(import.meta.dirname, BENCHES[name]), ...flags], { stdio: 'inherit' });
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  if (code !== 0) {
    failed++;
    process.stderr.write(`bench ${name} exited with ${code}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
