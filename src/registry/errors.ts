/**
 * Why one bot call failed. `retryable` decides control flow: the bot's own failures (throw,
 * timeout, garbage) would fail again the same way; a crash of the thread it shared may not.
 */
export abstract class BotRunError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    readonly botId: string,
    readonly instanceId: string | undefined,
  ) {
    super(message);
  }
}

/** The bot did not answer within its time budget (or did not load within the load budget); its thread was stopped. */
export class BotTimeoutError extends BotRunError {
  override readonly name = 'BotTimeoutError';
  readonly retryable = false;
  constructor(
    botId: string,
    instanceId: string | undefined,
    readonly timeoutMs: number,
    readonly phase: 'load' | 'analyze' = 'analyze',
  ) {
    super(`bot "${botId}" did not ${phase === 'load' ? 'load' : 'answer'} within ${timeoutMs} ms and was stopped`, botId, instanceId);
  }
}

/** The bot threw (or could not be loaded, or rejected its params); carries its message. */
export class BotFailedError extends BotRunError {
  override readonly name = 'BotFailedError';
  readonly retryable = false;
  constructor(botId: string, instanceId: string | undefined, readonly botMessage: string) {
    super(`bot "${botId}" failed: ${botMessage}`, botId, instanceId);
  }
}

/** The bot returned something that is not a Signal; `problems` are "path: message" lines. */
export class BotOutputError extends BotRunError {
  override readonly name = 'BotOutputError';
  readonly retryable = false;
  constructor(botId: string, instanceId: string | undefined, readonly problems: string[]) {
    super(`bot "${botId}" returned an invalid signal: ${problems.join('; ')}`, botId, instanceId);
  }
}

export type CrashCause = 'memory' | 'exit' | 'sibling-timeout' | 'closed';

/** The thread running the call died (out of memory, exited, or was stopped for another call). */
export class BotCrashedError extends BotRunError {
  override readonly name = 'BotCrashedError';
  readonly retryable = true;
  constructor(botId: string, instanceId: string | undefined, readonly crash: CrashCause, detail: string) {
    super(`bot "${botId}" could not finish: ${detail}`, botId, instanceId);
  }
}
