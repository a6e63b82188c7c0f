// Benchmark runner: `npm run bench` runs every benchmark in turn, each in its own
// process; `npm run bench -- server raft` runs only those; flags after the names
// (`--seconds 3`) go to each selected benchmark.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
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
if (argv.includes('--help')) {
  process.stdout.write(`usage: npm run bench -- [${Object.keys(BENCHES).join('|')} ...] [flags for each]\n`
    + 'With no names every benchmark runs, in that order. README.md lists each one\'s flags.\n');
  process.exit(0);
}
const firstFlag = argv.findIndex((a) => a.startsWith('--'));
const names = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : argv.slice(firstFlag);
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let failed = 0;
let interrupted: NodeJS.Signals | null = null;
for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
  process.stderr.write(`== bench ${name}\n`);
  const child = spawn(process.execPath, [resolve(import.meta.dirname, BENCHES[name]), ...flags], { stdio: 'inherit' });
  // A signal sent to this runner alone (not to the terminal's whole group) reaches the benchmark, which stops what it started.
  const forward = (signal: NodeJS.Signals) => {
    interrupted = signal;
    child.kill(signal);
  };
  for (const signal of SIGNALS) process.on(signal, forward);
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  for (const signal of SIGNALS) process.off(signal, forward);
  if (interrupted !== null) {
    process.stderr.write(`bench ${name} stopped by ${interrupted}; the rest are not run\n`);
    process.exit(128 + constants.signals[interrupted]);
  }
  if (code !== 0) {
    failed++;
    process.stderr.write(`bench ${name} exited with ${code}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
