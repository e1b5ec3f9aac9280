/**
 * The error taxonomy: every error that crosses a queue says whether trying again can help.
 * Processors turn a non-retryable one into BullMQ's UnrecoverableError, so it fails at once.
 */
export class QuorumError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The outcome might change if the same thing is done a little later (a race, a busy resource). */
export class TransientError extends QuorumError {
  constructor(message: string, code = 'transient') {
    super(message, code, true);
  }
}

/** Doing it again would fail the same way: bad input, a broken bot, a refused order. */
export class PermanentError extends QuorumError {
  constructor(message: string, code = 'permanent') {
    super(message, code, false);
  }
}

export function isRetryable(error: unknown): boolean {
  if (error !== null && typeof error === 'object' && 'retryable' in error) return (error as { retryable: unknown }).retryable === true;
  return true;
}
