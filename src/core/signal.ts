import { z } from 'zod';

/**
 * What one bot instance says about one market at one candle. Spot only for now: "buy" wants
 * a long position, "sell" wants to be flat, "hold" abstains from changing anything.
 */
export const SignalSchema = z
  .object({
    action: z.enum(['buy', 'sell', 'hold']),
    /** How sure the bot is, 0..1; weights its vote. */
    confidence: z.number().finite().min(0).max(1),
    /** A short human-readable why. */
    reason: z.string().max(200).default(''),
    /**
     * A limit price instead of a market order: a buy rests below the market, a sell above, until
     * a later candle trades through it (grid and market-making bots).
     */
    limitPrice: z.number().finite().positive().optional(),
    /** Regime bots only: the market's regime at this candle (confidence says how sure). */
    regime: z.enum(['trending', 'ranging', 'volatile']).optional(),
  })
  .strict();

export type Signal = z.infer<typeof SignalSchema>;
export type SignalAction = Signal['action'];
export type Regime = NonNullable<Signal['regime']>;

export function hold(reason: string): Signal {
  return { action: 'hold', confidence: 0, reason };
}
