import { describe, expect, it } from 'vitest';
import { describeZodError } from './envelope.ts';
import { ExecutionMessage } from './messages.ts';

const envelope = { schema: 'execution', v: 1, id: 'x', at: 1, account: 'paper', timeframe: '5m', seenAt: 1 };
const common = { clientOrderId: 'qb-ADABTC-0123456789abcdef0123', symbol: 'ADA/BTC', side: 'buy', amount: '200', decisionTs: 1515560100000, reason: 'test' };
const parse = (intent: unknown) => {
  const r = ExecutionMessage.safeParse({ ...envelope, intent });
  return r.success ? { ok: r.data.intent } : { problems: describeZodError(r.error) };
};

describe('ExecutionMessage intent', () => {
  it('accepts a market order as before', () => {
    expect(parse({ ...common, type: 'market' })).toEqual({ ok: { ...common, type: 'market' } });
  });

  it('accepts a limit order with a price, with or without an expiry', () => {
    expect(parse({ ...common, type: 'limit', price: '0.00005269' })).toEqual({ ok: { ...common, type: 'limit', price: '0.00005269' } });
    expect(parse({ ...common, type: 'limit', price: '0.00005269', expiresAfterMs: 900_000 })).toMatchObject({ ok: { expiresAfterMs: 900_000 } });
  });

  it('requires a price of a limit order and forbids one on a market order', () => {
    expect(parse({ ...common, type: 'limit' })).toEqual({ problems: expect.stringMatching(/intent\.price/) });
    expect(parse({ ...common, type: 'market', price: '0.00005269' })).toEqual({ problems: expect.stringMatching(/Unrecognized key: "price"/) });
    expect(parse({ ...common, type: 'market', expiresAfterMs: 900_000 })).toEqual({ problems: expect.stringMatching(/Unrecognized key: "expiresAfterMs"/) });
  });

  it('refuses a zero, negative or non-decimal price, a bad expiry and unknown types or fields', () => {
    for (const price of ['0', '0.000', '-1', '1e-5', 'NaN', 0.5]) expect(parse({ ...common, type: 'limit', price }), String(price)).toHaveProperty('problems');
    for (const expiresAfterMs of [0, -1, 1.5, Number.POSITIVE_INFINITY, '900000']) expect(parse({ ...common, type: 'limit', price: '1', expiresAfterMs }), String(expiresAfterMs)).toHaveProperty('problems');
    expect(parse({ ...common, type: 'stop', price: '1' })).toEqual({ problems: expect.stringMatching(/intent\.type/) });
    expect(parse({ ...common, type: 'limit', price: '1', postOnly: true })).toEqual({ problems: expect.stringMatching(/Unrecognized key: "postOnly"/) });
  });

  it('names every bad common field, not just a missing type', () => {
    expect(parse({ clientOrderId: 'bad:id' })).toEqual({ problems: expect.stringMatching(/intent\.clientOrderId.*intent\.symbol.*intent\.type/) });
  });
});
