// Core configuration: defaults filled once, every limit checked up front with
// one RangeError naming every bad field (STYLE: limits checked at start-up).
import { DEFAULT_RAFT_LIMITS, type RaftConfig } from './api.js';

export type RaftConfigInput = Partial<RaftConfig> &
  Pick<RaftConfig, 'id' | 'electionTicksMin' | 'electionTicksMax' | 'heartbeatTicks' | 'random'>;

const POSITIVE_INTEGERS = [
  'electionTicksMin', 'electionTicksMax', 'heartbeatTicks', 'inflightMessagesMax',
  'appendEntriesMax', 'appendBytesMax', 'uncommittedEntriesMax', 'persistStallTicksMax',
] as const;

export function validateRaftConfig(input: RaftConfigInput): RaftConfig {
  const config: RaftConfig = Object.freeze({
    ...DEFAULT_RAFT_LIMITS,
    persistStallTicksMax: input.electionTicksMax,
    ...input,
  });
  const problems: string[] = [];
  if (typeof config.id !== 'string' || config.id.length === 0) problems.push('id must be a non-empty string');
  for (const field of POSITIVE_INTEGERS) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) problems.push(`${field} must be a positive integer (got ${String(value)})`);
  }
  if (config.electionTicksMin < 2 * config.heartbeatTicks + 1) {
    problems.push(`electionTicksMin (${config.electionTicksMin}) must be ≥ 2 × heartbeatTicks + 1 (${2 * config.heartbeatTicks + 1})`);
  }
  if (config.electionTicksMax < config.electionTicksMin) {
    problems.push(`electionTicksMax (${config.electionTicksMax}) must be ≥ electionTicksMin (${config.electionTicksMin})`);
  }
  if (typeof config.random !== 'function') problems.push('random must be a function returning [0, 1)');
  if (problems.length > 0) throw new RangeError(`invalid raft config: ${problems.join('; ')}`);
  return config;
}
