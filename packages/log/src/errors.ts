/** Expected failures of the log, with a stable code an HTTP layer maps to a 4xx status. */
export type LogErrorCode = 'bad_request' | 'not_found' | 'forbidden' | 'bad_signature';

export class LogError extends Error {
  constructor(
    readonly code: LogErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LogError';
  }
}
