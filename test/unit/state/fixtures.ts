// Helpers for state-machine tests: build envelopes and apply them.
import { applyEntryData, encodeCommand, Model, type CommandInput, type CommandResult } from '../../../src/state/index.js';

export type Cmd = CommandInput['cmd'];

export function run(model: Model, cmd: Cmd, ts = 1000, idempotencyKey?: string): CommandResult {
  const envelope: CommandInput = idempotencyKey === undefined ? { v: 1, ts, cmd } : { v: 1, ts, cmd, idempotency_key: idempotencyKey };
  return applyEntryData(model, encodeCommand(envelope));
}

export function value<T = Record<string, unknown>>(result: CommandResult): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value as T;
}

export function register(model: Model, id: string, capacity = 1_000_000, zone?: string, ts = 1000): void {
  value(run(model, { type: 'node.register', id, addresses: [`127.0.0.1:${9000 + id.length}`], storage_capacity: capacity,
    capabilities: { version: '1' }, ...(zone === undefined ? {} : { zone }) }, ts));
}
