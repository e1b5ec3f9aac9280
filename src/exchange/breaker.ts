/**
 * The circuit breaker of one exchange account, as a pure state machine: time comes in with each
 * event, storage and sharing between processes are elsewhere (src/store/breakerStore.ts).
 *
 * closed ── threshold failures within windowMs ──▶ open ── probe after cooldown ──▶ half-open
 *   ▲                                               ▲                                  │
 *   └──────────────── probe succeeds ───────────────┼──────────────────────────────────┤
 *                                                   └─ probe fails: cooldown doubles ──┘
 *
 * A success while closed does not clear the window: a venue that fails every other request is
 * failing, and only the number of failures within the window decides.
 */

export type BreakerStatus = 'closed' | 'open' | 'half-open';

export interface BreakerPolicy {
  failureThreshold: number;
  windowMs: number;
  cooldownMs: number;
  /** The cooldown doubles on each failed probe, up to this. */
  maxCooldownMs: number;
}

export interface BreakerState {
  status: BreakerStatus;
  /** Times of the failures within the window, newest last; closed only. */
  failures: number[];
  openedAt?: number;
  cooldownMs?: number;
  /** Why it opened: the reason of the failure that opened it (or of the failed probe). */
  reason?: string;
  /** When the current probe began; half-open only. */
  probeStartedAt?: number;
}

export type BreakerEvent =
  | { type: 'failure'; at: number; reason: string }
  | { type: 'success'; at: number }
  /** A caller asks to probe; it may probe only when the step answers 'half-opened'. */
  | { type: 'probe'; at: number }
  /** An operator closes it by hand. */
  | { type: 'reset'; at: number };

export type BreakerTransition = 'opened' | 'half-opened' | 'closed' | 'reopened';

export interface BreakerStep {
  state: BreakerState;
  /** Set only for the event that caused a transition: its caller alerts and pauses or resumes. */
  transition?: BreakerTransition;
}

export const CLOSED_BREAKER: Readonly<BreakerState> = Object.freeze({ status: 'closed', failures: [] as number[] });

export function validateBreakerPolicy(policy: BreakerPolicy): BreakerPolicy {
  const { failureThreshold, windowMs, cooldownMs, maxCooldownMs } = policy;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) throw new RangeError(`breaker: failureThreshold must be an integer >= 1, got ${failureThreshold}`);
  for (const [name, value] of [['windowMs', windowMs], ['cooldownMs', cooldownMs], ['maxCooldownMs', maxCooldownMs]] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`breaker: ${name} must be a positive finite number, got ${value}`);
  }
  if (maxCooldownMs < cooldownMs) throw new RangeError(`breaker: maxCooldownMs (${maxCooldownMs}) must be at least cooldownMs (${cooldownMs})`);
  return policy;
}

/** A stored cooldown may come from another policy (or be missing): keep it within this one's bounds. */
function cooldownOf(state: BreakerState, policy: BreakerPolicy): number {
  const c = state.cooldownMs;
  if (c === undefined || !Number.isFinite(c)) return policy.cooldownMs;
  return Math.min(Math.max(c, policy.cooldownMs), policy.maxCooldownMs);
}

function opened(at: number, cooldownMs: number, reason: string): BreakerState {
  return { status: 'open', failures: [], openedAt: at, cooldownMs, reason };
}

/** When a probe will be allowed (a new one, or a replacement for a stale one); undefined when closed. */
export function nextProbeAt(state: BreakerState, policy: BreakerPolicy): number | undefined {
  const cooldown = cooldownOf(state, policy);
  if (state.status === 'open') return (state.openedAt ?? 0) + cooldown;
  if (state.status === 'half-open') return (state.probeStartedAt ?? 0) + cooldown;
  return undefined;
}

export function stepBreaker(state: BreakerState, event: BreakerEvent, policy: BreakerPolicy): BreakerStep {
  if (!Number.isFinite(event.at)) throw new RangeError(`breaker: event time must be finite, got ${event.at}`);
  const { at } = event;
  if (event.type === 'reset') return state.status === 'closed' ? { state } : { state: { status: 'closed', failures: [] }, transition: 'closed' };

  switch (state.status) {
    case 'closed': {
      if (event.type !== 'failure') return { state };
      // Failures from hosts whose clocks run ahead stay counted until they too leave the window.
      const recent = state.failures.filter((t) => Number.isFinite(t) && at - t < policy.windowMs);
      const failures = [...recent, at].slice(-policy.failureThreshold);
      if (failures.length >= policy.failureThreshold) return { state: opened(at, policy.cooldownMs, event.reason), transition: 'opened' };
      return { state: { status: 'closed', failures } };
    }
    case 'open': {
      // Late reports of requests sent before it opened say nothing about the venue now.
      if (event.type !== 'probe') return { state };
      const cooldownMs = cooldownOf(state, policy);
      if (at < (state.openedAt ?? 0) + cooldownMs) return { state };
      return { state: { ...state, failures: [], cooldownMs, probeStartedAt: at, status: 'half-open' }, transition: 'half-opened' };
    }
    case 'half-open': {
      const cooldownMs = cooldownOf(state, policy);
      if (event.type === 'success') return { state: { status: 'closed', failures: [] }, transition: 'closed' };
      if (event.type === 'failure') return { state: opened(at, Math.min(cooldownMs * 2, policy.maxCooldownMs), event.reason), transition: 'reopened' };
      // A probe never reported (its prober died) must not hold the breaker half-open for ever.
      if (at > (state.probeStartedAt ?? 0) + cooldownMs) return { state: { ...state, cooldownMs, probeStartedAt: at }, transition: 'half-opened' };
      return { state };
    }
  }
}
