// Summarize a V8 .cpuprofile (node --cpu-prof): self time by function and by
// area (package, Node.js internals, this project's directories, GC, idle), and
// inclusive time by function.
// Run: node dist/test/bench/cpuprofile-summary.js FILE.cpuprofile [--top 30] [--from-us T --to-us T]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

/** A window of CLOCK_MONOTONIC microseconds (what `process.hrtime` and V8's profile timestamps use). */
export interface ProfileWindow { readonly fromUs: number; readonly toUs: number }

export interface ProfileSummary {
  readonly totalMs: number;
  readonly busyMs: number;
  readonly selfByFunction: readonly [string, number][];
  readonly selfByArea: readonly [string, number][];
  readonly inclusiveByFunction: readonly [string, number][];
}

/** Where a frame's code lives: an npm package, a Node.js internal module, a project directory, or a VM bucket. */
export function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return pkg[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const own = /\/dist\/((?:raft|src|test)\/[^/]+)/.exec(url);
  if (own !== null) return own[1].replace(/\.js$/, '');
  return url;
}

function label(frame: ProfileNode['callFrame']): string {
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

const sorted = (map: Map<string, number>, top: number) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, Math.round(v)] as [string, number]);

/** Summarize the samples taken inside `window` (all of them without one). */
export function summarizeProfile(profile: CpuProfile, top = 30, window?: ProfileWindow): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    // timeDeltas[i] is the time before sample i; the time until the next sample belongs to sample i.
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(profile.samples[i]);
    if (node === undefined) continue;
    total += ms;
    if (node.callFrame.functionName === '(idle)') { idle += ms; continue; }
    self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + ms);
    area.set(areaOf(node.callFrame), (area.get(areaOf(node.callFrame)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const key = label(byId.get(id)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  inclusive.delete('(root)');
  return { totalMs: Math.round(total), busyMs: Math.round(total - idle), selfByFunction: sorted(self, top), selfByArea: sorted(area, top),
    inclusiveByFunction: sorted(inclusive, top) };
}

export function renderSummary(s: ProfileSummary): string {
  const pct = (ms: number) => `${((ms / Math.max(1, s.busyMs)) * 100).toFixed(1).padStart(5)} %`;
  const lines = (rows: readonly [string, number][]) => rows.map(([k, ms]) => `  ${String(ms).padStart(7)} ms ${pct(ms)}  ${k}`).join('\n');
  return [`profile: ${s.totalMs} ms sampled, ${s.busyMs} ms not idle (percentages are of the busy time)`,
    'self time by area:', lines(s.selfByArea), 'self time by function:', lines(s.selfByFunction),
    'inclusive time by function:', lines(s.inclusiveByFunction)].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const usage = 'usage: node dist/test/bench/cpuprofile-summary.js FILE.cpuprofile [--top 30] [--from-us T --to-us T]\n';
  const file = process.argv[2];
  if (file === '--help' || file === '-h') {
    process.stdout.write(usage);
    process.exit(0);
  }
  if (file === undefined || file.startsWith('--')) {
    process.stderr.write(usage);
    process.exit(2);
  }
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const from = arg('from-us');
  const to = arg('to-us');
  const window = from !== undefined && to !== undefined ? { fromUs: from, toUs: to } : undefined;
  process.stdout.write(`${renderSummary(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, arg('top') ?? 30, window))}\n`);
}
