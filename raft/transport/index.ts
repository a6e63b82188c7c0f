export { PeerTransport, type PeerAddress, type PeerStats, type PeerTransportOptions, type PeerTls } from './peer-client.js';
export { registerRaftRoutes, type RaftRouteOptions } from './routes.js';
export { encodeMessages, decodeMessages, decodeMessage } from './codec.js';
export { sign, verify, SIGNATURE_HEADER } from './auth.js';
export { TransportError } from './errors.js';
