import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../infra/keys.ts';

export interface AuditEntry {
  seq: number;
  ts: number;
  type: string;
  data: Record<string, unknown>;
  prev: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

/** sha256 over the previous hash and the entry's canonical JSON: changing any entry breaks every later link. */
export function auditHash(prev: string, seq: number, ts: number, type: string, data: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify([prev, seq, ts, type, data])).digest('hex');
}

/**
 * The append-only, hash-chained audit trail of orders, fills, rejections, breaker changes and
 * reconciliations, in a Redis stream. Appends from any number of processes form one chain: the
 * head (seq and hash) is read under WATCH and the entry is written only if nobody appended since.
 */
export class AuditLog {
  private conn: Redis | undefined;
  /** Appends of this process, one at a time (WATCH belongs to the connection). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  append(type: string, data: Record<string, unknown>, ts = Date.now()): Promise<AuditEntry> {
    const run = this.tail.then(() => this.appendNow(type, data, ts));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.tail;
    this.conn?.disconnect();
    this.conn = undefined;
  }

  private async appendNow(type: string, data: Record<string, unknown>, ts: number): Promise<AuditEntry> {
    // A dedicated connection: WATCH is per connection and the shared one is used concurrently.
    const conn = (this.conn ??= this.redis.duplicate());
    {
      for (let attempt = 0; attempt < 100; attempt++) {
        await conn.watch(this.keys.auditHead);
        const head = await conn.hgetall(this.keys.auditHead);
        const seq = Number(head.seq ?? 0) + 1;
        const prev = head.hash ?? GENESIS;
        const hash = auditHash(prev, seq, ts, type, data);
        const entry: AuditEntry = { seq, ts, type, data, prev, hash };
        const done = await conn.multi().xadd(this.keys.audit, '*', 'e', JSON.stringify(entry)).hset(this.keys.auditHead, 'seq', String(seq), 'hash', hash).exec();
        if (done) return entry;
      }
      throw new Error('audit log: could not append (the chain head kept changing)');
    }
  }

  async entries(): Promise<AuditEntry[]> {
    const raw = await this.redis.xrange(this.keys.audit, '-', '+');
    return raw.map(([, fields]) => JSON.parse(fields[1]!) as AuditEntry);
  }

  /** Recomputes the chain; the first entry that does not match is where it was tampered with. */
  static verify(entries: AuditEntry[]): { ok: true; count: number } | { ok: false; seq: number; problem: string } {
    let prev = GENESIS;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.seq !== i + 1) return { ok: false, seq: e.seq, problem: `expected entry ${i + 1}, found ${e.seq}` };
      if (e.prev !== prev) return { ok: false, seq: e.seq, problem: 'does not link to the entry before it' };
      if (auditHash(e.prev, e.seq, e.ts, e.type, e.data) !== e.hash) return { ok: false, seq: e.seq, problem: 'its content does not match its hash' };
      prev = e.hash;
    }
    return { ok: true, count: entries.length };
  }
}
