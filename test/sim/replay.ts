// Replay a printed command path: `cluster seed S, N commands: kind(a=1,b=x) ...`.
import type { Command } from './commands.js';

export function parseCommandPath(path: string): Command[] {
  const out: Command[] = [];
  for (const match of path.matchAll(/(\w+)\(([^)]*)\)/g)) {
    const command: Record<string, unknown> = { kind: match[1] };
    for (const pair of match[2].split(',').filter((p) => p.length > 0)) {
      const [key, raw] = pair.split('=');
      command[key] = raw === 'true' ? true : raw === 'false' ? false : /^\d+$/.test(raw) ? Number(raw) : raw;
    }
    out.push(command as Command);
  }
  return out;
}
