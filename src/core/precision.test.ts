import { describe, expect, it } from 'vitest';
import { Decimal } from 'decimal.js';
import { feeFor, isMultipleOf, roundAmountDown, roundPrice, toDecimal, toPlain, tryDecimal } from './precision.ts';

describe('roundAmountDown', () => {
  it('truncates to a multiple of the step and never exceeds the requested amount', () => {
    expect(toPlain(roundAmountDown('1.23456', '0.001'))).toBe('1.234');
    expect(toPlain(roundAmountDown('1.2349999', '0.001'))).toBe('1.234');
    expect(toPlain(roundAmountDown('1.234', '0.001'))).toBe('1.234');
    expect(toPlain(roundAmountDown('0.0009', '0.001'))).toBe('0');
    expect(toPlain(roundAmountDown('12345.9', '1'))).toBe('12345');
    expect(toPlain(roundAmountDown('7', '2.5'))).toBe('5');
    expect(toPlain(roundAmountDown(0.3, '0.1'))).toBe('0.3'); // no float error: 0.3 is parsed as "0.3"
  });

  it('truncates negative amounts toward zero', () => {
    expect(toPlain(roundAmountDown('-1.27', '0.1'))).toBe('-1.2');
  });

  it('holds for many amounts and steps', () => {
    for (const step of ['1', '0.1', '0.001', '0.00000001', '5', '0.25', '3']) {
      for (let i = 0; i < 300; i++) {
        const amount = new Decimal(i).times('1.37').plus('0.000000017');
        const r = roundAmountDown(amount, step);
        expect(r.lte(amount)).toBe(true);
        expect(amount.minus(r).lt(step)).toBe(true);
        expect(isMultipleOf(r, step)).toBe(true);
      }
    }
  });

  it.each(['0', '-1', 'abc', 'Infinity', 'NaN', '', '0x10'])('throws a clear error for the step %j', (step) => {
    expect(() => roundAmountDown('1', step)).toThrow(/step size must be a positive finite number/);
  });

  it('throws on a non-finite amount', () => {
    expect(() => roundAmountDown(Number.NaN, '1')).toThrow(/amount must be a finite decimal/);
    expect(() => roundAmountDown(Infinity, '1')).toThrow(/amount must be a finite decimal/);
  });
});

describe('roundPrice', () => {
  it('rounds up, down and to nearest on the tick grid', () => {
    expect(toPlain(roundPrice('0.000053331', '0.00000001', 'up'))).toBe('0.00005334');
    expect(toPlain(roundPrice('0.000053339', '0.00000001', 'down'))).toBe('0.00005333');
    expect(toPlain(roundPrice('0.000053335', '0.00000001', 'nearest'))).toBe('0.00005334');
    expect(toPlain(roundPrice('0.000053334', '0.00000001', 'nearest'))).toBe('0.00005333');
    expect(toPlain(roundPrice('0.09', '0.000001', 'up'))).toBe('0.09');
    expect(toPlain(roundPrice('0.0900001', '0.000001', 'up'))).toBe('0.090001');
  });

  it('leaves a price already on the grid unchanged in every mode', () => {
    for (const mode of ['up', 'down', 'nearest'] as const) expect(toPlain(roundPrice('0.00005333', '0.00000001', mode))).toBe('0.00005333');
  });

  it('throws on a bad tick', () => {
    expect(() => roundPrice('1', '0', 'up')).toThrow(/step size/);
    expect(() => roundPrice('1', '-0.01', 'down')).toThrow(/step size/);
  });
});

describe('isMultipleOf', () => {
  it('is exact where floats are not', () => {
    expect(isMultipleOf('0.3', '0.1')).toBe(true); // 0.3 % 0.1 !== 0 in floats
    expect(isMultipleOf('1.0005', '0.001')).toBe(false);
    expect(isMultipleOf('0', '0.001')).toBe(true);
  });
});

describe('feeFor', () => {
  it('rounds the fee up to 8 decimal places', () => {
    expect(toPlain(feeFor('0.05333', '0.001'))).toBe('0.00005333');
    expect(toPlain(feeFor('0.053331', '0.001'))).toBe('0.00005334'); // 0.000053331 rounds up
    expect(toPlain(feeFor('0', '0.001'))).toBe('0');
  });
});

describe('toDecimal / tryDecimal / toPlain', () => {
  it('rejects what is not a finite plain decimal', () => {
    for (const bad of ['NaN', 'Infinity', '-Infinity', '0x1f', '1,5', '', ' 1']) {
      expect(tryDecimal(bad)).toBeUndefined();
      expect(() => toDecimal(bad, 'x')).toThrow(/x must be a finite decimal/);
    }
    expect(tryDecimal(Number.NaN)).toBeUndefined();
    expect(tryDecimal(null)).toBeUndefined();
    expect(tryDecimal({})).toBeUndefined();
  });

  it('prints plain notation, never exponents or -0', () => {
    expect(toPlain(toDecimal('1e-8'))).toBe('0.00000001');
    expect(toPlain(toDecimal(5.3e-8))).toBe('0.000000053');
    expect(toPlain(toDecimal('-0'))).toBe('0');
    expect(toPlain(toDecimal('1e21'))).toBe('1000000000000000000000');
  });

  it('keeps products exact beyond 20 significant digits (the decimal.js default)', () => {
    const a = toDecimal('123456789.123456789');
    const b = toDecimal('0.00000001234567891');
    expect(toPlain(a.times(b))).toBe('1.52415787777777786625361999');
  });
});
