// Always-on invariant checks (TigerBeetle style): a broken invariant is a bug,
// so crash loudly with the rule that failed instead of corrupting state.

export class InvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}
