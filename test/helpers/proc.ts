// What /proc says about other processes (no `ps`: slim machines lack procps).
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat after the command name (which may hold spaces or parentheses): state, parent, …; null if it has ended. */
export function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** A process's state letter and parent id, or null if it has ended. */
function stat(pid: number): { state: string; parent: number } | null {
  const fields = statFields(pid);
  return fields === null ? null : { state: fields[0]!, parent: Number(fields[1]) };
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
