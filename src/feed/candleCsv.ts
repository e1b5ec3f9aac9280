import { readFileSync } from 'node:fs';
import { validateCandle, type Candle, type CandleRejection } from '../core/candle.ts';
import { timeframeMs } from '../core/timeframe.ts';

export const CANDLE_CSV_HEADER = 'timestamp,open,high,low,close,volume';

export interface CandleRow {
  line: number;
  candle: Candle;
}

export interface RejectedRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  reason: string;
  detail: string;
  raw: string;
}

/** Every reason parseCandleCsv can give; `reason` stays a string so trades can add their own. */
export type CandleCsvRejection = CandleRejection | 'malformed-row' | 'duplicate';

// Plain decimals only: Number() would also take '', ' ', '0x1f' and '1_000' silently.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = new Set(['NaN', 'Infinity', '+Infinity', '-Infinity']);

/**
 * Parses one CSV field as a number. Literal NaN/Infinity are returned as such, so that the
 * validator can call them 'not-finite' rather than the row being merely malformed;
 * anything else that is not a plain decimal gives undefined.
 */
export function parseNumberField(field: string): number | undefined {
  const s = field.trim();
  if (DECIMAL.test(s) || NON_FINITE.has(s)) return Number(s);
  return undefined;
}

/** Splits text into lines (LF or CRLF), dropping a leading BOM. */
export function splitLines(text: string): string[] {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
}

/** Throws unless the first line of `lines` is `expected`; names the source so the user can find it. */
export function requireHeader(lines: readonly string[], expected: string, source: string): void {
  const header = (lines[0] ?? '').trim();
  if (header !== expected) {
    const found = header === '' ? 'an empty first line' : `"${header.slice(0, 120)}"`;
    throw new Error(`${source}: expected the CSV header "${expected}" on line 1, found ${found}`);
  }
}

const FIELDS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

/**
 * Parses and validates candle CSV. Rows are checked in file order against the last ACCEPTED
 * candle, so one bad row does not cause the next good one to be rejected too.
 */
export function parseCandleCsv(
  text: string,
  opts: { timeframe: string; source: string },
): { accepted: CandleRow[]; rejected: RejectedRow[] } {
  const tfMs = timeframeMs(opts.timeframe);
  const lines = splitLines(text);
  requireHeader(lines, CANDLE_CSV_HEADER, opts.source);

  const accepted: CandleRow[] = [];
  const rejected: RejectedRow[] = [];
  let previous: Candle | undefined;

  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fields = raw.split(',');
    if (fields.length !== FIELDS.length) {
      rejected.push({ line, reason: 'malformed-row', detail: `expected ${FIELDS.length} columns, found ${fields.length}`, raw });
      continue;
    }
    const values: number[] = [];
    let bad: string | undefined;
    for (let f = 0; f < FIELDS.length; f++) {
      const value = parseNumberField(fields[f]!);
      if (value === undefined) {
        bad = `${FIELDS[f]} "${fields[f]}" is not a number`;
        break;
      }
      values.push(value);
    }
    if (bad !== undefined) {
      rejected.push({ line, reason: 'malformed-row', detail: bad, raw });
      continue;
    }
    const [ts, open, high, low, close, volume] = values as [number, number, number, number, number, number];
    const candle: Candle = { ts, open, high, low, close, volume };

    if (previous !== undefined && ts === previous.ts) {
      const same = open === previous.open && high === previous.high && low === previous.low
        && close === previous.close && volume === previous.volume;
      const detail = same
        ? `ts ${ts} repeats the previous candle; ignored`
        : `ts ${ts} repeats the previous candle with different values; the first one is kept`;
      rejected.push({ line, reason: 'duplicate', detail, raw });
      continue;
    }
    const verdict = validateCandle(candle, tfMs, previous?.ts);
    if (!verdict.ok) {
      rejected.push({ line, reason: verdict.reason, detail: verdict.detail, raw });
      continue;
    }
    accepted.push({ line, candle });
    previous = candle;
  }
  return { accepted, rejected };
}

/** Reads a candle CSV file (synchronously: bundled files are small) and parses it. */
export function readCandleFile(path: string, timeframe: string): { accepted: CandleRow[]; rejected: RejectedRow[] } {
  return parseCandleCsv(readFileSync(path, 'utf8'), { timeframe, source: path });
}
