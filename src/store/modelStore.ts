import type { Redis } from 'ioredis';
import { marketKey } from '../core/market.ts';
import type { Keyspace } from '../infra/keys.ts';

export interface StoredModel {
  /** Start of the training period it serves; it was trained on candles before this. */
  periodStart: number;
  /** Candles it was trained on and the last one's time. */
  trainedOn: number;
  lastTrainedTs: number | null;
  model: unknown;
}

/** Trained models of learning bots, one per instance, market and training period, kept a few periods. */
export class ModelStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  async get(instanceId: string, symbol: string, timeframe: string, periodStart: number): Promise<StoredModel | undefined> {
    const raw = await this.redis.get(this.keys.model(instanceId, marketKey(symbol), timeframe, periodStart));
    return raw === null ? undefined : (JSON.parse(raw) as StoredModel);
  }

  /** Saves unless another worker saved it first (training is deterministic: same inputs, same model). */
  async save(instanceId: string, symbol: string, timeframe: string, stored: StoredModel, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.model(instanceId, marketKey(symbol), timeframe, stored.periodStart), JSON.stringify(stored), 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
  }
}
