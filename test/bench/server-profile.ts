// CPU profile of a cluster (3 nodes by default) under one load case: every node runs with
// `node --cpu-prof`, the load runs against the leader (or every node), then the
// nodes stop with SIGTERM so V8 writes the profiles; the leader's profile and one
// follower's are summarized.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ServerCluster } from '../helpers/server-cluster.js';
import { renderSummary, summarizeProfile, type ProfileSummary, type ProfileWindow } from './cpuprofile-summary.js';
import { caseNames, runCase, seedTasks, serverCases, type CaseResult, type CaseSettings } from './server-cases.js';

export interface ProfileResult {
  readonly case: CaseResult;
  readonly leader: string;
  /** The load's time window (CLOCK_MONOTONIC µs): only samples inside it are summarized. */
  readonly window: ProfileWindow;
  readonly profiles: Record<string, { file: string; summary: ProfileSummary }>;
}

export async function profileCase(settings: CaseSettings, dir: string, caseName: string, nodes = 3,
  config: Record<string, unknown> = {}): Promise<ProfileResult> {
  rmSync(dir, { recursive: true, force: true });
  const cluster = new ServerCluster(nodes, { config, nodeFlags: (id) => ['--cpu-prof', `--cpu-prof-dir=${join(dir, id)}`] });
  const names = caseNames(nodes);
  if (!names.includes(caseName)) throw new Error(`unknown case ${caseName}; one of ${names.join(', ')}`);
  let result: CaseResult;
  let leader: string;
  let window: ProfileWindow;
  try {
    await cluster.init();
    cluster.startAll();
    leader = await cluster.leader();
    const specs = serverCases(nodes, await seedTasks(cluster, leader));
    const spec = specs.find((s) => s.name === caseName)!;
    // Warm the nodes up with the same load.
    await runCase(cluster, spec, { ...settings, seconds: Math.min(2, settings.seconds), repeats: 1 });
    process.stderr.write(`profiling ${caseName} on ${nodes} node(s) (leader ${leader}) for ${settings.seconds} s\n`);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    result = await runCase(cluster, spec, { ...settings, repeats: 1 });
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    // SIGTERM: a clean exit, which is when V8 writes the profile. Followers first, so the leader has no one to hand over to.
    for (const id of cluster.ids.filter((i) => i !== leader)) await cluster.stop(id, 'SIGTERM');
    await cluster.stop(leader, 'SIGTERM');
  } catch (error) {
    process.stderr.write(cluster.output());
    throw error;
  } finally {
    await cluster.close();
  }
  const follower = cluster.ids.find((i) => i !== leader);
  const profiles: ProfileResult['profiles'] = {};
  for (const [role, id] of [['leader', leader], ...(follower === undefined ? [] : [['follower', follower]])] as const) {
    const files = readdirSync(join(dir, id)).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) { process.stderr.write(`no profile written by ${id}\n`); continue; }
    const file = join(dir, id, files[0]);
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 30, window);
    profiles[`${role}:${id}`] = { file, summary };
    process.stdout.write(`\n=== ${role} ${id}: ${file}\n${renderSummary(summary)}\n`);
  }
  return { case: result, leader, window, profiles };
}
