import { describe, expect, it } from 'vitest';
import ichimoku from './ichimoku.ts';
import { analyze, fromCloses } from './_testkit.ts';

// 100 candles up a cent each, then 60 down a cent each: above the cloud, a pullback, through it, below it.
const closes = [...Array.from({ length: 100 }, (_, i) => 1 + 0.01 * i), ...Array.from({ length: 60 }, (_, i) => 1.99 - 0.01 * (i + 1))];
const at = (n: number) => analyze(ichimoku, fromCloses(closes.slice(0, n)));

describe('ichimoku', () => {
  it('refuses lines out of order: conversion < base < spanB', () => {
    expect(ichimoku.params.safeParse({ conversion: 26, base: 26 }).error!.issues).toMatchObject([
      { path: ['conversion'], message: 'conversion must be less than base' },
    ]);
    expect(ichimoku.params.safeParse({ base: 60 }).error!.issues).toMatchObject([{ path: ['base'], message: 'base must be less than spanB' }]);
  });

  it('buys above the cloud with tenkan over kijun, and is sure when everything agrees', () => {
    const signal = at(100);
    expect(signal).toMatchObject({ action: 'buy' });
    expect(signal.reason).toContain('lagging span confirms');
    expect(signal.confidence).toBeGreaterThan(0.9);
  });

  it('holds when price and the tenkan/kijun cross disagree, and inside the cloud', () => {
    // A dozen candles into the fall: still above the cloud, but tenkan has dropped under kijun.
    const mixed = at(112);
    expect(mixed).toMatchObject({ action: 'hold', confidence: 0 });
    expect(mixed.reason).toContain('mixed');
    const inside = at(120);
    expect(inside).toMatchObject({ action: 'hold', confidence: 0 });
    expect(inside.reason).toContain('inside the cloud');
  });

  it('sells below the cloud with tenkan under kijun, surer the further below', () => {
    expect(at(127)).toMatchObject({ action: 'sell' });
    expect(at(140).confidence).toBeGreaterThan(at(127).confidence);
  });

  it('reads the cloud projected from `displacement` candles back, not the current spans', () => {
    // Eight candles into the fall the close is inside the latest spans, but above the cloud drawn 26 candles ago.
    expect(at(108)).toMatchObject({ action: 'buy' });
    const undisplaced = analyze(ichimoku, fromCloses(closes.slice(0, 108)), { displacement: 1 });
    expect(undisplaced).toMatchObject({ action: 'hold' });
    expect(undisplaced.reason).toContain('inside the cloud');
  });
});
