import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReplayFileName, resolveReplayFiles } from './replayFiles.ts';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));

describe('resolveReplayFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const touch = (rel: string): string => {
    const path = join(dir, rel);
    writeFileSync(path, 'timestamp,open,high,low,close,volume\n');
    return path;
  };
  mkdirSync(join(dir, 'ok'));
  mkdirSync(join(dir, 'ok', 'nested'));
  mkdirSync(join(dir, 'bad'));
  touch('ok/ZEC_BTC-5m.csv');
  touch('ok/ADA_BTC-5m.csv');
  touch('ok/ADA_BTC-1h.csv');
  touch('ok/notes.txt');
  touch('ok/nested/ETH_BTC-5m.csv');
  touch('bad/ADA_BTC-5m.csv');
  touch('bad/ada-btc.csv');

  it('expands a folder into its *.csv files sorted by name, skipping other files and subfolders', () => {
    expect(resolveReplayFiles(['ok'], { cwd: dir })).toEqual([
      { path: join(dir, 'ok', 'ADA_BTC-1h.csv'), symbol: 'ADA/BTC', timeframe: '1h' },
      { path: join(dir, 'ok', 'ADA_BTC-5m.csv'), symbol: 'ADA/BTC', timeframe: '5m' },
      { path: join(dir, 'ok', 'ZEC_BTC-5m.csv'), symbol: 'ZEC/BTC', timeframe: '5m' },
    ]);
  });

  it('takes single files, relative to cwd or absolute, in entry order', () => {
    const files = resolveReplayFiles(['ok/ZEC_BTC-5m.csv', join(dir, 'ok', 'nested', 'ETH_BTC-5m.csv')], { cwd: dir });
    expect(files.map((f) => f.symbol)).toEqual(['ZEC/BTC', 'ETH/BTC']);
    expect(files[0]!.path).toBe(join(dir, 'ok', 'ZEC_BTC-5m.csv'));
  });

  it('filters by timeframe', () => {
    expect(resolveReplayFiles(['ok'], { cwd: dir, timeframes: ['1h'] }).map((f) => f.path)).toEqual([join(dir, 'ok', 'ADA_BTC-1h.csv')]);
    expect(resolveReplayFiles(['ok'], { cwd: dir, timeframes: ['1d'] })).toEqual([]);
  });

  it('throws naming a file whose name does not match the pattern', () => {
    expect(() => resolveReplayFiles(['bad'], { cwd: dir })).toThrow(/ada-btc\.csv: file name does not match BASE_QUOTE-TIMEFRAME\.csv/);
    expect(() => resolveReplayFiles(['ok/notes.txt'], { cwd: dir })).toThrow(/notes\.txt: file name does not match/);
  });

  it('throws naming a missing path', () => {
    expect(() => resolveReplayFiles(['nope/ADA_BTC-5m.csv'], { cwd: dir })).toThrow(/replay entry "nope\/ADA_BTC-5m\.csv" not found/);
  });

  it('lists a file named twice once, but refuses two files of the same series', () => {
    expect(resolveReplayFiles(['ok/ADA_BTC-5m.csv', 'ok'], { cwd: dir, timeframes: ['5m'] }).length).toBe(2);
    expect(() => resolveReplayFiles(['ok', 'bad/ADA_BTC-5m.csv'], { cwd: dir })).toThrow(/ADA\/BTC 5m is already replayed from/);
  });

  it('refuses an invalid timeframe filter', () => {
    expect(() => resolveReplayFiles(['ok'], { cwd: dir, timeframes: ['5 minutes'] })).toThrow(/invalid timeframe filter/);
  });

  it('reads symbol and timeframe from the bundled file names', () => {
    expect(parseReplayFileName('UNITTEST_BTC-30m.csv')).toEqual({ symbol: 'UNITTEST/BTC', timeframe: '30m' });
    const files = resolveReplayFiles(['ohlcv'], { cwd: DATA, timeframes: ['1m'] });
    expect(files.map((f) => `${f.symbol} ${f.timeframe}`)).toEqual(['UNITTEST/BTC 1m', 'XRP/ETH 1m']);
  });
});
