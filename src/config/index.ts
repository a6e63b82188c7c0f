export { configSchema, peerSchema, LOG_LEVELS, type ConcordConfig, type PeerConfig } from './schema.js';
export { loadConfig, formatProblems, parsePeers, environmentOverrides, type ConfigProblem, type LoadResult } from './load.js';
export { readTlsMaterial, ConfigError, type TlsMaterial } from './tls.js';
