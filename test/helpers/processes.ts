// Child processes started by a test, tracked so the test kills exactly what it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { atInterrupt } from './interrupt.js';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
}

/**
 * Variables a `concord server` reads as config overrides (and the supervision flag):
 * tests configure nodes through files only, so a machine that happens to export PORT or
 * HOST cannot move every test server onto one address.
 */
const CONFIG_ENV = ['NODE_ID', 'HOST', 'PORT', 'DATA_DIR', 'DB_PATH', 'PEERS', 'LOG_LEVEL', 'CLUSTER_SECRET', 'CONCORD_SUPERVISED'];

export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_ENV) delete env[name];
  return { ...env, ...extra };
}

export class ProcessGroup {
  readonly #children = new Set<Child>();

  start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
    const child = spawn(command, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      if (output.length > 2000) output.splice(0, output.length - 2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const entry: Child = { name, process: child, output, exited };
    this.#children.add(entry);
    const unregister = atInterrupt(() => child.kill('SIGKILL'));
    void exited.then(() => {
      unregister();
      this.#children.delete(entry);
    });
    return entry;
  }

  async kill(child: Child, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<number | null> {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return child.process.exitCode;
    child.process.kill(signal);
    const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => this.kill(child, 'SIGKILL')));
  }
}
