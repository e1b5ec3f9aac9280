/**
 * Every Redis key of a deployment starts with "{prefix}". The braces are a Cluster hash tag: all
 * keys land in one slot, so Lua scripts and MULTI may touch several of them on Redis Cluster too.
 */
export function hashTagged(prefix: string): string {
  return `{${prefix}}`;
}

/** Our own keys (BullMQ adds its own below the same tag). */
export function keyspace(prefix: string) {
  const root = hashTagged(prefix);
  return {
    root,
    bullPrefix: root,
    candles: (marketKey: string, tf: string) => `${root}:candles:${marketKey}:${tf}`,
    candleLast: (marketKey: string, tf: string) => `${root}:candles:last:${marketKey}:${tf}`,
    /** Open time of the newest candle the ccxt feed handed to the ticks queue, per series. */
    feedCursor: (marketKey: string, tf: string) => `${root}:feed:cursor:${marketKey}:${tf}`,
    decision: (marketKey: string, tf: string, ts: number) => `${root}:decision:${marketKey}:${tf}:${ts}`,
    /** The candle times of a series' decision keys above, in a sorted set: trimmed by count with them. */
    decisionIndex: (marketKey: string, tf: string) => `${root}:decisions:index:${marketKey}:${tf}`,
    decisionLog: `${root}:decisions:log`,
    ledger: (account: string) => `${root}:ledger:${account}`,
    orders: (account: string) => `${root}:orders:${account}`,
    openOrders: (account: string) => `${root}:orders:open:${account}`,
    pending: (account: string) => `${root}:orders:pending:${account}`,
    /** Orders being sent to a real venue whose outcome is not recorded yet (the write-ahead outbox). */
    sending: (account: string) => `${root}:orders:sending:${account}`,
    fills: (account: string) => `${root}:fills:${account}`,
    counters: `${root}:counters`,
    /** Job durations per queue and analysis time per bot instance (src/store/timingStore.ts). */
    timings: `${root}:timings`,
    audit: `${root}:audit`,
    auditHead: `${root}:audit:head`,
    lock: (name: string) => `${root}:lock:${name}`,
    rejections: `${root}:rejections`,
    botHealth: (instanceId: string) => `${root}:bots:health:${instanceId}`,
    runs: `${root}:runs`,
    waitingSuccessor: (marketKey: string, tf: string, ts: number) => `${root}:coordinator:successor:${marketKey}:${tf}:${ts}`,
    /** The candle times of a series' waiting notes above, in a sorted set: trimmed by count with them. */
    waitingIndex: (marketKey: string, tf: string) => `${root}:coordinator:successor:index:${marketKey}:${tf}`,
    model: (instanceId: string, marketKey: string, tf: string, periodStart: number) => `${root}:model:${instanceId}:${marketKey}:${tf}:${periodStart}`,
    quarantine: `${root}:bots:quarantine`,
    disabled: `${root}:bots:disabled`,
    tradingState: `${root}:risk:state`,
    tradingStateLog: `${root}:risk:state:log`,
    equityPeak: (account: string) => `${root}:risk:peak:${account}`,
    dayStart: (account: string) => `${root}:risk:daystart:${account}`,
    losses: (account: string) => `${root}:risk:losses:${account}`,
    positionWatch: (account: string) => `${root}:risk:watch:${account}`,
    trackRecords: (marketKey: string, tf: string) => `${root}:trackrecord:${marketKey}:${tf}`,
    /** Candle times of a series whose votes are scored, in a sorted set (one key per series, trimmed by count). */
    trackScored: (marketKey: string, tf: string) => `${root}:trackrecord:scored:${marketKey}:${tf}`,
    requestBudget: (account: string) => `${root}:budget:tat:${account}`,
    requestBackOff: (account: string) => `${root}:budget:backoff:${account}`,
    breaker: (account: string) => `${root}:breaker:${account}`,
    /** Live performance: per-instance vote and hit counters, the equity curve per currency, each order's reasons and voters. */
    perfInstances: `${root}:perf:instances`,
    perfEquity: (account: string, quote: string) => `${root}:perf:equity:${account}:${quote}`,
    perfOrders: (account: string) => `${root}:perf:orders:${account}`,
    /** Notifications: duplicate suppression, the pending digest, and what the monitor last saw. */
    notifyDedupe: (hash: string) => `${root}:notify:dedupe:${hash}`,
    notifyDigest: `${root}:notify:digest`,
    notifyDigestFlush: (flushId: string) => `${root}:notify:digest:flush:${flushId}`,
    notifyDrawdown: (account: string) => `${root}:notify:drawdown:${account}`,
    notifyWorkers: `${root}:notify:workers`,
    notifySummary: (account: string) => `${root}:notify:summary:${account}`,
  };
}

export type Keyspace = ReturnType<typeof keyspace>;
