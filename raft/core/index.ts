// The pure Raft core's public surface.
export * from './types.js';
export * from './api.js';
export { RawNode } from './node.js';
export { validateRaftConfig, type RaftConfigInput } from './config.js';
export { encodeConfChange, decodeConfChange } from './conf-codec.js';
export { createSeededRandom } from './random.js';
export { InvariantError } from './assert.js';
