import type { Config } from '../config/schema.ts';
import type { AggregationPolicy } from '../coordinator/aggregate.ts';
import type { RiskLimits } from '../risk/engine.ts';
import type { DecideSettings } from '../coordinator/decide.ts';
import type { MarketRules } from '../core/market.ts';
import { timeframeMs } from '../core/timeframe.ts';
import type { PaperVenueOptions } from '../exchange/paper/paperGateway.ts';

/** The coordinator's policy for one market: the defaults with that market's overrides. */
export function policyFor(config: Config, symbol: string): AggregationPolicy {
  const c = config.coordinator;
  return {
    method: c.method,
    minVoters: c.minVoters,
    minAgreement: c.minAgreement,
    minConfidence: c.minConfidence,
    ...c.markets[symbol],
    trackRecord: { metric: c.trackRecord.metric, halfLife: c.trackRecord.halfLife, prior: c.trackRecord.prior },
    regimeWeights: c.regimeWeights,
  };
}

/** The risk engine's limits from config; candle counts become ms of the given timeframe. */
export function riskLimitsOf(config: Config, timeframe: string): RiskLimits {
  const r = config.risk;
  return {
    maxPositionFraction: r.maxPositionFraction,
    maxTotalExposure: r.maxTotalExposure,
    maxOpenPositions: r.maxOpenPositions,
    maxCorrelation: r.maxCorrelation,
    minCorrelationSamples: r.minCorrelationSamples,
    maxDrawdown: r.maxDrawdown,
    stopOutsBeforeCooldown: r.stopOutsBeforeCooldown,
    cooldownMs: r.cooldownCandles * timeframeMs(timeframe),
    dailyLossLimit: r.dailyLossLimit,
    kellyFraction: r.kellyFraction,
    minEdgeSamples: r.minEdgeSamples,
    volatilityTarget: r.volatilityTarget,
    maxVar: r.maxVar,
    var: { confidence: r.varConfidence, paths: r.monteCarloPaths, horizon: r.monteCarloHorizon, seed: 1 },
  };
}

/** Everything the pure decision needs besides its input, for one timeframe. */
export function decideSettingsOf(config: Config, timeframe: string, account: string, markets: Readonly<Record<string, MarketRules>>): DecideSettings {
  const tfMs = timeframeMs(timeframe);
  const { maxHoldCandles, ...exits } = config.risk.exits;
  return {
    account,
    limits: riskLimitsOf(config, timeframe),
    exits: { ...exits, maxHoldMs: maxHoldCandles * tfMs },
    atrPeriod: config.risk.atrPeriod,
    limitOrderMs: config.coordinator.limitOrderCandles * tfMs,
    execution: { slippageBps: config.paper.slippageBps, feeRate: config.paper.feeRate },
    markets,
  };
}

/** The paper venue's fill model settings (the pipeline's paper venue and the backtester share them). */
export function paperVenueOptionsOf(config: Config): PaperVenueOptions {
  return { slippageBps: config.paper.slippageBps, feeRate: config.paper.feeRate, limitFillShare: config.paper.limitFillShare };
}
