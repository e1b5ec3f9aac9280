import { z } from 'zod';

/**
 * The kill switch. ACTIVE trades normally; REDUCING lets only risk-reducing orders through (exits,
 * sells toward flat); HALTED lets nothing new in. Exits are allowed in every state: a halted
 * system that could not close a losing position would be the worst kind of safe.
 */
export const TRADING_STATES = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
export type TradingState = (typeof TRADING_STATES)[number];

export const TradingStateRecord = z
  .object({
    state: z.enum(TRADING_STATES),
    reason: z.string().min(1).max(500),
    /** Who threw it: "cli", "api", "risk" ... */
    by: z.string().min(1).max(100),
    at: z.number().int().nonnegative(),
  })
  .strict();
export type TradingStateRecord = z.infer<typeof TradingStateRecord>;

export const INITIAL_TRADING_STATE: TradingStateRecord = { state: 'ACTIVE', reason: 'initial state', by: 'quorum', at: 0 };
