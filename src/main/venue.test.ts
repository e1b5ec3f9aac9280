import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.ts';
import { venueStartProblems } from './venue.ts';

const configWith = (env: Record<string, string>) => loadConfig({ file: undefined, env, cwd: '/' }).config;
const keys = { QUORUM_API_KEY: 'k'.repeat(16), QUORUM_API_SECRET: 's'.repeat(16) };

describe('venueStartProblems', () => {
  it('lets paper trading start with nothing else', async () => {
    expect(await venueStartProblems(configWith({}), {})).toEqual([]);
  });

  it('refuses live mode without keys, naming the variables to set', async () => {
    const problems = await venueStartProblems(configWith({ QUORUM_MODE: 'live', QUORUM_EXCHANGE: 'binance' }), { confirmLive: true });
    expect(problems).toEqual([expect.stringMatching(/set QUORUM_API_KEY and QUORUM_API_SECRET in the environment/)]);
  });

  it('refuses live mode with keys but without --confirm-live', async () => {
    expect(await venueStartProblems(configWith({ QUORUM_MODE: 'live', QUORUM_EXCHANGE: 'binance', ...keys }), {})).toEqual([expect.stringMatching(/--confirm-live/)]);
  });

  it('starts live mode with live config, keys in the environment and the confirmation', async () => {
    expect(await venueStartProblems(configWith({ QUORUM_MODE: 'live', QUORUM_EXCHANGE: 'binance', ...keys }), { confirmLive: true })).toEqual([]);
  });

  it('lets a process that only decides (no execution queue) run without keys, never without the confirmation', async () => {
    const live = configWith({ QUORUM_MODE: 'live', QUORUM_EXCHANGE: 'binance' });
    expect(await venueStartProblems(live, { confirmLive: true, trading: false })).toEqual([]);
    expect(await venueStartProblems(live, { trading: false })).toEqual([expect.stringMatching(/--confirm-live/)]);
  });

  it('refuses a real mode on the paper account or an id ccxt does not know', async () => {
    expect((await venueStartProblems(configWith({ QUORUM_MODE: 'testnet', ...keys }), {}))[0]).toMatch(/"paper" is not a ccxt exchange id/);
    expect((await venueStartProblems(configWith({ QUORUM_MODE: 'testnet', QUORUM_EXCHANGE: 'nosuchexchange', ...keys }), {}))[0]).toMatch(/not a ccxt exchange id/);
  });

  it('refuses testnet on an exchange without a sandbox unless a base URL points at one', async () => {
    const noSandbox = { QUORUM_MODE: 'testnet', QUORUM_EXCHANGE: 'bitstamp', ...keys };
    expect(await venueStartProblems(configWith(noSandbox), {})).toEqual([expect.stringMatching(/has no sandbox/)]);
    expect(await venueStartProblems(configWith({ ...noSandbox, QUORUM_EXCHANGE_BASE_URL: 'http://127.0.0.1:9000' }), {})).toEqual([]);
    expect(await venueStartProblems(configWith({ QUORUM_MODE: 'testnet', QUORUM_EXCHANGE: 'binance', ...keys }), {})).toEqual([]);
  });
});
