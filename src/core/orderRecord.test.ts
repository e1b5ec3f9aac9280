import { describe, expect, it } from 'vitest';
import { closeOrder, newOrderRecord, withFill, type Fill, type LimitOrderIntent } from './order.ts';

const intent: LimitOrderIntent = { clientOrderId: 'qb-x', symbol: 'TOY/BTC', side: 'buy', type: 'limit', amount: '1', price: '3', decisionTs: 0, reason: 'test' };
const fill = (amount: string, price: string, ts: number): Fill => ({ clientOrderId: 'qb-x', symbol: 'TOY/BTC', side: 'buy', amount, price, fee: '0', feeCurrency: 'BTC', ts });

describe('order progress', () => {
  it('starts with nothing filled and the whole amount resting', () => {
    expect(newOrderRecord(intent, '5m', 7)).toEqual({ intent, timeframe: '5m', status: 'open', createdAt: 7, updatedAt: 7, filledAmount: '0', remaining: '1', filledCost: '0', avgPrice: '0', fillCount: 0 });
  });

  it('adds fills exactly, averages their price and is filled when nothing remains', () => {
    let o = newOrderRecord(intent, '5m', 0);
    o = withFill(o, fill('0.3', '1', 1), 1);
    o = withFill(o, fill('0.3', '2', 2), 2);
    expect(o).toMatchObject({ status: 'open', filledAmount: '0.6', remaining: '0.4', filledCost: '0.9', avgPrice: '1.5', fillCount: 2 });
    o = withFill(o, fill('0.4', '2', 3), 3);
    // 1.7 / 1 exactly; an average that does not terminate is rounded to 18 places.
    expect(o).toMatchObject({ status: 'filled', filledAmount: '1', remaining: '0', filledCost: '1.7', avgPrice: '1.7', fillCount: 3, updatedAt: 3 });
    const third = withFill(newOrderRecord(intent, '5m', 0), fill('0.3', '1', 1), 1);
    expect(withFill(third, fill('0.3', '0.00000001', 2), 2).avgPrice).toBe('0.500000005');
    expect(withFill(withFill(newOrderRecord(intent, '5m', 0), fill('0.1', '1', 1), 1), fill('0.2', '1.5', 2), 2).avgPrice).toBe('1.333333333333333333');
  });

  it('refuses a fill of another order, of nothing, or of more than remains', () => {
    const o = newOrderRecord(intent, '5m', 0);
    expect(() => withFill(o, { ...fill('0.5', '1', 1), clientOrderId: 'qb-y' }, 1)).toThrow(/applied to order qb-x/);
    expect(() => withFill(o, fill('0', '1', 1), 1)).toThrow(/does not fit/);
    expect(() => withFill(o, fill('1.01', '1', 1), 1)).toThrow(/does not fit the 1 remaining/);
  });

  it('closes with a reason and keeps its fills', () => {
    const o = closeOrder(withFill(newOrderRecord(intent, '5m', 0), fill('0.3', '1', 1), 1), 'cancelled', 'expired', 9);
    expect(o).toMatchObject({ status: 'cancelled', reason: 'expired', filledAmount: '0.3', remaining: '0.7', updatedAt: 9 });
  });
});
