// Apply one command to the model. Deterministic: the result depends only on the
// model and the envelope (whose ts and ids the leader stamped). An entry that is
// not a valid command yields the same error result on every replica.
import { deleteFile, registerFile } from './apply-files.js';
import { heartbeats, registerNode, reportReplicas, unregisterNode } from './apply-nodes.js';
import { sweep } from './apply-sweep.js';
import { cancelTask, claimTask, completeTask, failTask, renewTask, submitTask } from './apply-tasks.js';
import { type CommandEnvelope, decodeCommand } from './commands.js';
import { type CommandResult, fail, ok } from './errors.js';
import type { Model } from './model.js';

export function applyEntryData(model: Model, data: Uint8Array): CommandResult {
  const envelope = decodeCommand(data);
  if (envelope === null) return fail('CONCORD_ERR_INVALID_COMMAND', 'log entry is not a valid command');
  return applyEnvelope(model, envelope);
}

export function applyEnvelope(model: Model, envelope: CommandEnvelope): CommandResult {
  const key = envelope.idempotency_key;
  if (key !== undefined) {
    const earlier = model.requests.get(key);
    if (earlier !== undefined) return earlier.result as CommandResult;
  }
  const result = dispatch(model, envelope);
  if (key !== undefined) model.requests.set(key, { key, result, ts: envelope.ts });
  return result;
}

function dispatch(model: Model, { cmd, ts }: CommandEnvelope): CommandResult {
  switch (cmd.type) {
    case 'node.register': return registerNode(model, cmd, ts);
    case 'node.heartbeat_batch': return heartbeats(model, cmd, ts);
    case 'node.unregister': return unregisterNode(model, cmd);
    case 'sweep': return sweep(model, ts);
    case 'file.register': return registerFile(model, cmd, ts);
    case 'file.delete': return deleteFile(model, cmd);
    case 'replica.report': return reportReplicas(model, cmd);
    case 'task.submit': return submitTask(model, cmd, ts);
    case 'task.claim': return claimTask(model, cmd, ts);
    case 'task.renew': return renewTask(model, cmd, ts);
    case 'task.complete': return completeTask(model, cmd, ts);
    case 'task.fail': return failTask(model, cmd, ts);
    case 'task.cancel': return cancelTask(model, cmd, ts);
    case 'maintenance.enable': {
      const value = { enabled: true, reason: cmd.reason ?? null, since: ts };
      model.meta.set('maintenance', { key: 'maintenance', value });
      return ok(value);
    }
    case 'maintenance.disable': {
      const value = { enabled: false, reason: null, since: null };
      model.meta.set('maintenance', { key: 'maintenance', value });
      return ok(value);
    }
  }
}
