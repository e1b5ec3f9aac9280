import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLOSED_BREAKER, nextProbeAt, stepBreaker, validateBreakerPolicy, type BreakerEvent, type BreakerPolicy, type BreakerState } from './breaker.ts';

const policy: BreakerPolicy = { failureThreshold: 3, windowMs: 10_000, cooldownMs: 1000, maxCooldownMs: 5000 };

function run(events: BreakerEvent[], from: BreakerState = CLOSED_BREAKER, p = policy) {
  let state = from;
  const transitions: string[] = [];
  for (const event of events) {
    const step = stepBreaker(state, event, p);
    state = step.state;
    if (step.transition) transitions.push(step.transition);
  }
  return { state, transitions };
}

const fail = (at: number, reason = 'timeout'): BreakerEvent => ({ type: 'failure', at, reason });
const ok = (at: number): BreakerEvent => ({ type: 'success', at });
const probe = (at: number): BreakerEvent => ({ type: 'probe', at });

/** Opened at t=3000 with the policy's cooldown. */
const openAt3000 = () => run([fail(1000), fail(2000), fail(3000, 'exchange not available')]).state;

describe('stepBreaker', () => {
  it('opens when the threshold of failures falls within the window, with the last failure as reason', () => {
    const { state, transitions } = run([fail(1000), fail(2000), fail(3000, 'exchange not available')]);
    expect(transitions).toEqual(['opened']);
    expect(state).toEqual({ status: 'open', failures: [], openedAt: 3000, cooldownMs: 1000, reason: 'exchange not available' });
  });

  it('stays closed when the failures are spread wider than the window', () => {
    const { state, transitions } = run([fail(0), fail(6000), fail(12_000), fail(18_000)]);
    expect(transitions).toEqual([]);
    expect(state.status).toBe('closed');
    expect(state.failures).toEqual([12_000, 18_000]);
  });

  it('does not clear the failures of the window on a success while closed', () => {
    const { state, transitions } = run([fail(1000), ok(1500), fail(2000), ok(2500), fail(3000)]);
    expect(transitions).toEqual(['opened']);
    expect(state.status).toBe('open');
  });

  it('keeps no more failure times than the threshold needs', () => {
    const { state } = run([fail(1), fail(2)], CLOSED_BREAKER, { ...policy, failureThreshold: 100 });
    expect(state.failures).toEqual([1, 2]);
    const many = run(Array.from({ length: 50 }, (_, i) => fail(i)), CLOSED_BREAKER, { ...policy, failureThreshold: 100 });
    expect(many.state.failures).toHaveLength(50);
  });

  it('ignores failures and successes while open', () => {
    const open = openAt3000();
    expect(stepBreaker(open, fail(3500), policy)).toEqual({ state: open });
    expect(stepBreaker(open, ok(3500), policy)).toEqual({ state: open });
  });

  it('refuses a probe before the cooldown has passed', () => {
    const open = openAt3000();
    expect(stepBreaker(open, probe(3999), policy)).toEqual({ state: open });
    expect(nextProbeAt(open, policy)).toBe(4000);
  });

  it('half-opens for the first probe once the cooldown has passed, and refuses a second one', () => {
    const first = stepBreaker(openAt3000(), probe(4000), policy);
    expect(first.transition).toBe('half-opened');
    expect(first.state).toMatchObject({ status: 'half-open', probeStartedAt: 4000, cooldownMs: 1000 });
    expect(stepBreaker(first.state, probe(4500), policy).transition).toBeUndefined();
  });

  it('closes and forgets the failures when the probe succeeds', () => {
    const { state, transitions } = run([probe(4000), ok(4100)], openAt3000());
    expect(transitions).toEqual(['half-opened', 'closed']);
    expect(state).toEqual({ status: 'closed', failures: [] });
  });

  it('reopens with a doubled cooldown when the probe fails, capped at the maximum', () => {
    const once = run([probe(4000), fail(4100, 'still down')], openAt3000());
    expect(once.transitions).toEqual(['half-opened', 'reopened']);
    expect(once.state).toEqual({ status: 'open', failures: [], openedAt: 4100, cooldownMs: 2000, reason: 'still down' });

    const events: BreakerEvent[] = [];
    let t = 4000;
    for (let i = 0; i < 6; i++) {
      t += 10_000;
      events.push(probe(t), fail(t + 1));
    }
    const { state } = run(events, openAt3000());
    expect(state.cooldownMs).toBe(5000);
  });

  it('lets a new prober take over a probe that was never reported', () => {
    const half = stepBreaker(openAt3000(), probe(4000), policy).state;
    expect(stepBreaker(half, probe(5000), policy).transition).toBeUndefined();
    const takeover = stepBreaker(half, probe(5001), policy);
    expect(takeover.transition).toBe('half-opened');
    expect(takeover.state.probeStartedAt).toBe(5001);
  });

  it('closes by hand from any state, reporting a transition only when it was not closed', () => {
    expect(stepBreaker(openAt3000(), { type: 'reset', at: 3100 }, policy)).toEqual({ state: { status: 'closed', failures: [] }, transition: 'closed' });
    expect(stepBreaker(CLOSED_BREAKER, { type: 'reset', at: 3100 }, policy).transition).toBeUndefined();
  });

  it('keeps a stored cooldown from another policy within this policy’s bounds', () => {
    const stored: BreakerState = { status: 'open', failures: [], openedAt: 0, cooldownMs: 1e9, reason: 'x' };
    expect(nextProbeAt(stored, policy)).toBe(5000);
    const missing: BreakerState = { status: 'open', failures: [], openedAt: 0 };
    expect(stepBreaker(missing, probe(1000), policy).state.cooldownMs).toBe(1000);
  });

  it('rejects an event without a finite time and a policy that makes no sense', () => {
    expect(() => stepBreaker(CLOSED_BREAKER, fail(Number.NaN), policy)).toThrow(/finite/);
    expect(() => validateBreakerPolicy({ ...policy, failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => validateBreakerPolicy({ ...policy, windowMs: Number.POSITIVE_INFINITY })).toThrow(/windowMs/);
    expect(() => validateBreakerPolicy({ ...policy, maxCooldownMs: 10 })).toThrow(/maxCooldownMs/);
  });
});

describe('stepBreaker properties', () => {
  const policyArb = fc
    .record({
      failureThreshold: fc.integer({ min: 1, max: 10 }),
      windowMs: fc.integer({ min: 1, max: 100_000 }),
      cooldownMs: fc.integer({ min: 1, max: 100_000 }),
      extra: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(({ extra, ...p }): BreakerPolicy => ({ ...p, maxCooldownMs: p.cooldownMs + extra }));
  const eventArb: fc.Arbitrary<BreakerEvent> = fc.oneof(
    fc.record({ type: fc.constant('failure' as const), at: fc.integer({ min: 0, max: 1e7 }), reason: fc.string() }),
    fc.record({ type: fc.constant('success' as const), at: fc.integer({ min: 0, max: 1e7 }) }),
    fc.record({ type: fc.constant('probe' as const), at: fc.integer({ min: 0, max: 1e7 }) }),
    fc.record({ type: fc.constant('reset' as const), at: fc.integer({ min: 0, max: 1e7 }) }),
  );

  it('never produces a NaN or out-of-bounds cooldown, nor failures outside the closed state', () => {
    fc.assert(
      fc.property(policyArb, fc.array(eventArb, { maxLength: 60 }), (p, events) => {
        let state: BreakerState = CLOSED_BREAKER;
        for (const event of events) {
          state = stepBreaker(state, event, p).state;
          if (state.status === 'closed') {
            expect(state.failures.length).toBeLessThan(p.failureThreshold);
          } else {
            expect(state.failures).toEqual([]);
            expect(Number.isFinite(state.cooldownMs)).toBe(true);
            expect(state.cooldownMs!).toBeGreaterThanOrEqual(p.cooldownMs);
            expect(state.cooldownMs!).toBeLessThanOrEqual(p.maxCooldownMs);
            expect(Number.isFinite(state.openedAt)).toBe(true);
          }
          if (state.status === 'half-open') expect(Number.isFinite(state.probeStartedAt)).toBe(true);
        }
      }),
    );
  });

  it('reports a transition exactly when the status changes, or when a prober is chosen', () => {
    fc.assert(
      fc.property(policyArb, fc.array(eventArb, { maxLength: 60 }), (p, events) => {
        let state: BreakerState = CLOSED_BREAKER;
        for (const event of events) {
          const step = stepBreaker(state, event, p);
          const expected = { closed: 'closed', open: state.status === 'half-open' ? 'reopened' : 'opened', 'half-open': 'half-opened' }[step.state.status];
          if (step.state.status !== state.status) expect(step.transition).toBe(expected);
          else if (step.transition !== undefined) expect([step.transition, event.type]).toEqual(['half-opened', 'probe']);
          state = step.state;
        }
      }),
    );
  });

  it('opens exactly when some window holds the threshold of failures', () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 30 }), (p, times) => {
        const failures = [...times].sort((a, b) => a - b);
        const { transitions } = run(failures.map((t) => fail(t)), CLOSED_BREAKER, p);
        const crowded = failures.some((t, i) => failures.slice(0, i + 1).filter((u) => t - u < p.windowMs).length >= p.failureThreshold);
        expect(transitions).toEqual(crowded ? ['opened'] : []);
      }),
    );
  });
});
