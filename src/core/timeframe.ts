/** Timeframes as ccxt spells them, and their length in milliseconds. */
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export type Timeframe = `${number}${keyof typeof UNIT_MS}`;

const TIMEFRAME_PATTERN = /^([1-9][0-9]*)([mhdw])$/;

export function isTimeframe(value: string): value is Timeframe {
  return TIMEFRAME_PATTERN.test(value);
}

/** Length of one candle of `timeframe`, in ms. Throws on a malformed timeframe. */
export function timeframeMs(timeframe: string): number {
  const match = TIMEFRAME_PATTERN.exec(timeframe);
  if (!match) throw new Error(`invalid timeframe "${timeframe}": expected a number and one of m, h, d, w (e.g. 5m, 1h)`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Open time of the candle of `timeframe` that contains `ts`. */
export function bucketStart(ts: number, tfMs: number): number {
  return ts - (((ts % tfMs) + tfMs) % tfMs);
}
