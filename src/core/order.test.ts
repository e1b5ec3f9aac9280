import { describe, expect, it } from 'vitest';
import { CLIENT_ORDER_ID_PATTERN, clientOrderIdFor, type ClientOrderIdParts } from './order.ts';

const base: ClientOrderIdParts = {
  account: 'paper-main',
  symbol: 'ADA/BTC',
  timeframe: '5m',
  decisionTs: 1515560100000,
  side: 'buy',
  purpose: 'entry',
};

describe('clientOrderIdFor', () => {
  it('gives the same id for the same intent', () => {
    expect(clientOrderIdFor({ ...base })).toBe(clientOrderIdFor({ ...base }));
  });

  it('is short, readable and only uses characters every venue and BullMQ accept', () => {
    const id = clientOrderIdFor(base);
    expect(id).toMatch(CLIENT_ORDER_ID_PATTERN);
    expect(id.length).toBeLessThanOrEqual(36);
    expect(id.startsWith('qb-ADABTC-')).toBe(true);
    expect(clientOrderIdFor({ ...base, side: 'sell' }).startsWith('qs-ADABTC-')).toBe(true);
  });

  it('stays within 36 chars for long symbols', () => {
    const id = clientOrderIdFor({ ...base, symbol: 'VERYLONGBASENAME1234/VERYLONGQUOTE1234', account: 'x'.repeat(200) });
    expect(id).toMatch(CLIENT_ORDER_ID_PATTERN);
  });

  it('changes when any single field changes', () => {
    const variants: ClientOrderIdParts[] = [
      { ...base, account: 'paper-other' },
      { ...base, symbol: 'ETH/BTC' },
      { ...base, timeframe: '1h' },
      { ...base, decisionTs: base.decisionTs + 300_000 },
      { ...base, side: 'sell' },
      { ...base, purpose: 'stop-loss' },
    ];
    const ids = new Set([clientOrderIdFor(base), ...variants.map(clientOrderIdFor)]);
    expect(ids.size).toBe(variants.length + 1);
  });

  it('does not confuse fields whose concatenations coincide', () => {
    const a = clientOrderIdFor({ ...base, account: 'ab', purpose: 'c' });
    const b = clientOrderIdFor({ ...base, account: 'a', purpose: 'bc' });
    expect(a).not.toBe(b);
  });

  it('is distinct over many decisions', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) ids.add(clientOrderIdFor({ ...base, decisionTs: base.decisionTs + i * 300_000 }));
    expect(ids.size).toBe(5000);
  });

  it('refuses malformed parts', () => {
    expect(() => clientOrderIdFor({ ...base, account: '' })).toThrow(/account/);
    expect(() => clientOrderIdFor({ ...base, decisionTs: Number.NaN })).toThrow(/decisionTs/);
    expect(() => clientOrderIdFor({ ...base, decisionTs: 1.5 })).toThrow(/decisionTs/);
  });
});
