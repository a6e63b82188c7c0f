export type TransportErrorCode = 'CONCORD_ERR_PEER_MALFORMED' | 'CONCORD_ERR_PEER_UNAUTHORIZED' | 'CONCORD_ERR_PEER_UNREACHABLE';

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
  }
}
