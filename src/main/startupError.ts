/** A reason not to start, said so that a person can act on it (exit code 2). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}
