/**
 * Errors raised by the wire codec. A decode error means the bytes a peer sent do not form a valid
 * message: the connection that sent them is closed (the broker never guesses at a repair).
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code = 'RAFKA_DECODE';
}

/** Raised when a message cannot be written at the requested version (a caller bug, not peer input). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  readonly code = 'RAFKA_ENCODE';
}
