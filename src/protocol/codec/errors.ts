/**
 * Errors raised by the wire codec. A decode error means the bytes a peer sent do not form a valid
 * message: the connection that sent them is closed (the broker never guesses at a repair).
 */
export class DecodeError extends Error {
  override readonly name: string = 'DecodeError';
  readonly code = 'RAFKA_DECODE';
}

/**
 * The bytes are well formed but would decode into more elements than the reader's budget allows
 * (Reader.limitElements): treated as a malformed request, without allocating the elements.
 */
export class DecodeLimitError extends DecodeError {
  override readonly name = 'DecodeLimitError';
}

/** Raised when a message cannot be written at the requested version (a caller bug, not peer input). */
export class EncodeError extends Error {
  override readonly name: string = 'EncodeError';
  readonly code = 'RAFKA_ENCODE';
}

/** The message would be larger than the writer's limit (Writer.limitBytes); nothing past it was built. */
export class EncodeLimitError extends EncodeError {
  override readonly name = 'EncodeLimitError';
}
