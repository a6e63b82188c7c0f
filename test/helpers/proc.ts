// What /proc says about other processes (no `ps`: slim machines lack procps).
import { readdirSync, readFileSync } from 'node:fs';

/** A process's state letter and parent id from /proc/PID/stat, or null if it has ended. */
function stat(pid: number): { state: string; parent: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may hold spaces or parentheses) come the state and the parent's id.
    const [state, parent] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, parent: Number(parent) };
  } catch {
    return null;
  }
}

function pids(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** Whether process `pid` has ended (a zombie, left for its parent or init to reap, counts as ended). */
export function gone(pid: number): boolean {
  const s = stat(pid);
  return s === null || s.state === 'Z';
}

/** Running processes whose parent is `parent`. */
export function childrenOf(parent: number): number[] {
  return pids().filter((pid) => stat(pid)?.parent === parent && !gone(pid));
}

/** Running processes whose command line mentions `text`. */
export function processesMentioning(text: string): number[] {
  return pids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && !gone(pid);
    } catch {
      return false; // ended while we looked
    }
  });
}
