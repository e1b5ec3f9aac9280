import { readFileSync } from 'node:fs';
import { parseNumberField, requireHeader, splitLines, type RejectedRow } from './candleCsv.ts';

/** One public trade (tick). `amount` is in the base currency, `price` in the quote. */
export interface Trade {
  ts: number;
  price: number;
  amount: number;
  side?: 'buy' | 'sell';
}

export const TRADES_CSV_HEADER = 'timestamp,id,side,price,amount,cost';

export type TradeRejection = 'malformed-row' | 'bad-timestamp' | 'bad-price' | 'bad-amount' | 'bad-side';

const COLUMNS = 6;
/** Same bounds as validateCandle: beyond these a value is corruption, and its candle would be rejected. */
const MAX_TS = 8.64e15;
const MAX_MAGNITUDE = 1e15;

/**
 * Parses trades CSV. `id` and `cost` are not kept (cost is price × amount); rows are not
 * required to be in time order: the aggregator decides what a late trade means.
 */
export function parseTradesCsv(text: string, source: string): { trades: Trade[]; rejected: RejectedRow[] } {
  const lines = splitLines(text);
  requireHeader(lines, TRADES_CSV_HEADER, source);
  const trades: Trade[] = [];
  const rejected: RejectedRow[] = [];
  const reject = (line: number, reason: TradeRejection, detail: string, raw: string): void => {
    rejected.push({ line, reason, detail, raw });
  };

  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fields = raw.split(',');
    if (fields.length !== COLUMNS) {
      reject(line, 'malformed-row', `expected ${COLUMNS} columns, found ${fields.length}`, raw);
      continue;
    }
    const [tsField, , sideField, priceField, amountField] = fields as [string, string, string, string, string, string];

    const ts = parseNumberField(tsField);
    if (ts === undefined || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TS) {
      reject(line, 'bad-timestamp', `timestamp "${tsField}" is not a Unix time in ms`, raw);
      continue;
    }
    const price = parseNumberField(priceField);
    if (price === undefined || !Number.isFinite(price) || price <= 0 || price > MAX_MAGNITUDE) {
      reject(line, 'bad-price', `price "${priceField}" is not a finite number in (0, 1e15]`, raw);
      continue;
    }
    const amount = parseNumberField(amountField);
    if (amount === undefined || !Number.isFinite(amount) || amount < 0 || amount > MAX_MAGNITUDE) {
      reject(line, 'bad-amount', `amount "${amountField}" is not a finite number in [0, 1e15]`, raw);
      continue;
    }
    const side = sideField.trim();
    if (side !== '' && side !== 'buy' && side !== 'sell') {
      reject(line, 'bad-side', `side "${sideField}" is neither buy, sell nor empty`, raw);
      continue;
    }
    trades.push(side === '' ? { ts, price, amount } : { ts, price, amount, side });
  }
  return { trades, rejected };
}

export function readTradesFile(path: string): { trades: Trade[]; rejected: RejectedRow[] } {
  return parseTradesCsv(readFileSync(path, 'utf8'), path);
}
