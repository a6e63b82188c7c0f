// Bounded polling for conditions that have no event to await (another process's state).

export async function waitUntil<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${detail}`);
}

/**
 * An HTTP call retried while its node is unreachable, knows no leader (503) or cannot
 * tell the outcome (504): what a client does across an election. Any other answer is
 * returned for the test to assert on.
 */
export async function settled<T extends { status: number }>(attempt: () => Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  return waitUntil(async () => {
    const answer = await attempt().catch(() => null);
    return answer !== null && answer.status !== 503 && answer.status !== 504 ? answer : null;
  }, { timeoutMs, what });
}

/** Election settings for tests that do not test failover: a stalled fsync on a busy CI disk must not cost a leader. */
export const CALM_ELECTIONS = { election_timeout_min: 1000, election_timeout_max: 2000, heartbeat_interval: 100 } as const;
