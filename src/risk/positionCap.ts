import { Decimal } from 'decimal.js';
import type { Consensus } from '../coordinator/aggregate.ts';

export interface PositionCapLimits {
  /** Largest position in one market as a fraction of equity, (0, 1]. */
  maxPositionFraction: number;
}

export interface PortfolioView {
  /** Equity in the market's quote currency, as a decimal string. */
  equity: string;
}

export type RiskVerdict =
  | { verdict: 'target'; targetValue: string; reason: string }
  | { verdict: 'none'; reason: string }
  | { verdict: 'deny'; reason: string };

/**
 * The first risk gate: turns a consensus into a target position value in the quote currency.
 * Buy targets at most maxPositionFraction of equity; sell targets flat; hold changes nothing.
 * Zero when in doubt: a non-finite or non-positive equity or fraction denies instead of sizing.
 */
export function positionTarget(consensus: Consensus, portfolio: PortfolioView, limits: PositionCapLimits): RiskVerdict {
  if (consensus.action === 'hold') return { verdict: 'none', reason: consensus.reason };
  if (consensus.action === 'sell') return { verdict: 'target', targetValue: '0', reason: 'exit to flat' };
  const fraction = limits.maxPositionFraction;
  if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1) return { verdict: 'deny', reason: `max position fraction ${fraction} is not in (0, 1]` };
  let equity: Decimal;
  try {
    equity = new Decimal(portfolio.equity);
  } catch {
    return { verdict: 'deny', reason: `equity "${portfolio.equity}" is not a number` };
  }
  if (!equity.isFinite() || equity.lte(0)) return { verdict: 'deny', reason: `equity ${portfolio.equity} is not positive` };
  const target = equity.mul(fraction);
  return { verdict: 'target', targetValue: target.toFixed(), reason: `target ${fraction * 100}% of equity ${equity.toFixed()}` };
}
