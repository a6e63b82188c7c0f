// `concord cluster`: write one config per node, start each as a child process,
// print the endpoints and a compact status line, stop them all on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { probe } from './status.js';

export async function runLocalCluster(options: { nodes: number; basePort: number; dataDir: string }): Promise<void> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(24).toString('hex');
  const ids = Array.from({ length: options.nodes }, (_, i) => `node-${i + 1}`);
  const children: ChildProcess[] = [];
  for (const [i, id] of ids.entries()) {
    const config = {
      node_id: id, host: '127.0.0.1', port: options.basePort + i, data_dir: join(dataDir, id), log_level: 'warn',
      enable_redundancy: options.nodes > 1, cluster_secret: secret,
      peers: ids.filter((p) => p !== id).map((p) => ({ id: p, host: '127.0.0.1', port: options.basePort + ids.indexOf(p) })),
    };
    const file = join(dataDir, `${id}.json`);
    writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    const child = spawn(process.execPath, [process.argv[1], 'server', '--config', file],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CONCORD_SUPERVISED: '1' } });
    children.push(child);
    process.stdout.write(`${id}: http://127.0.0.1:${options.basePort + i}\n`);
  }
  const timer = setInterval(() => void statusLine(ids, options.basePort), 2000);
  const stop = () => {
    clearInterval(timer);
    process.stdout.write('\nstopping all nodes\n');
    setTimeout(() => { for (const child of children) child.kill('SIGKILL'); }, 15_000).unref();
    void stopInTurn(ids, children, options.basePort);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await Promise.all(children.map((child) => new Promise((r) => child.once('exit', r))));
  clearInterval(timer);
}

/**
 * Stop the followers first, then, once the leader has noticed they are gone, the leader:
 * stopping every node at once made each leader try to hand over to a voter that was
 * already stopping (a failed transfer and a warning per node).
 */
async function stopInTurn(ids: string[], children: ChildProcess[], basePort: number): Promise<void> {
  const roles = await Promise.all(children.map(async (_, i) => (await probe(`127.0.0.1:${basePort + i}`, 1000)).role));
  const leader = roles.indexOf('leader');
  const stopOne = async (i: number) => {
    const child = children[i];
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    process.stdout.write(`${ids[i]} stopped\n`);
  };
  await Promise.all(children.map((_, i) => (i === leader ? Promise.resolve() : stopOne(i))));
  if (leader < 0) return;
  await new Promise((resolve) => setTimeout(resolve, 500)); // longer than an election timeout: no live voter left to hand over to
  await stopOne(leader);
}

async function statusLine(ids: string[], basePort: number): Promise<void> {
  const parts = await Promise.all(ids.map(async (id, i) => {
    const s = await probe(`127.0.0.1:${basePort + i}`, 1000);
    return s.reachable ? `${id} ${s.role} t${s.term} c${s.commit_index} a${s.applied_index}` : `${id} down`;
  }));
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${parts.join(' | ')}\n`);
}
