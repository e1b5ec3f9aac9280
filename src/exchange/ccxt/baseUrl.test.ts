import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { overrideBaseUrl } from './baseUrl.ts';

describe('overrideBaseUrl', () => {
  it('points every REST URL of binance at the base, keeping each path', () => {
    const ex = new ccxt.binance();
    const before = JSON.stringify(ex.urls.api).match(/https:\/\/[^"]+/g)!;
    overrideBaseUrl(ex.urls as { api?: unknown }, 'http://127.0.0.1:8080');
    const after = JSON.stringify(ex.urls.api).match(/https?:\/\/[^"]+/g)!;
    expect(after).toHaveLength(before.length);
    expect(before.length).toBeGreaterThan(10);
    after.forEach((url, i) => {
      expect(url.startsWith('http://127.0.0.1:8080/')).toBe(true);
      expect(new URL(url).pathname).toBe(new URL(before[i]!).pathname);
    });
    expect((ex.urls.api as Record<string, string>).public).toBe('http://127.0.0.1:8080/api/v3');
  });

  it('applies to the sandbox URLs once sandbox mode is on', () => {
    const ex = new ccxt.binance();
    ex.setSandboxMode(true);
    overrideBaseUrl(ex.urls as { api?: unknown }, 'https://proxy.example:9443/');
    expect((ex.urls.api as Record<string, string>).private).toBe('https://proxy.example:9443/api/v3');
  });

  it('refuses a base that is not only scheme, host and port', () => {
    const urls = { api: { public: 'https://api.binance.com/api/v3' } };
    expect(() => overrideBaseUrl(urls, 'not a url')).toThrow(/is not a URL/);
    expect(() => overrideBaseUrl(urls, 'ftp://host')).toThrow(/must be http or https/);
    expect(() => overrideBaseUrl(urls, 'http://host/prefix')).toThrow(/only scheme, host and port/);
    expect(urls.api.public).toBe('https://api.binance.com/api/v3');
  });
});
