/** A queue message that does not match its schema; never retried. */
export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
  constructor(
    readonly queue: string,
    readonly problems: string,
  ) {
    super(`invalid ${queue} payload: ${problems}`);
  }
}
