import { stamp } from '../contracts/envelope.ts';
import type { BotHealth, Suspension } from '../store/statsStore.ts';
import type { Context } from './context.ts';
import { loadBots } from './workers.ts';

export type InstanceStatus = 'running' | 'disabled in config' | 'disabled' | 'quarantined';

export interface InstanceReport {
  id: string;
  bot: string;
  family: string;
  role: string;
  markets: string[];
  weight: number;
  status: InstanceStatus;
  suspension?: Suspension | undefined;
  health: BotHealth;
}

/** Every configured instance with its status and health, as the CLI and the API show them. */
export async function instanceReports(ctx: Context): Promise<InstanceReport[]> {
  const setup = await loadBots(ctx);
  const { quarantined, disabled } = await ctx.health.suspended();
  return Promise.all(
    setup.instances.map(async (i) => {
      const status: InstanceStatus = !i.enabled ? 'disabled in config' : quarantined[i.id] ? 'quarantined' : disabled[i.id] ? 'disabled' : 'running';
      return {
        id: i.id,
        bot: i.botId,
        family: i.family,
        role: i.role,
        markets: i.markets,
        weight: i.weight,
        status,
        suspension: quarantined[i.id] ?? disabled[i.id],
        health: await ctx.health.get(i.id),
      };
    }),
  );
}

export class UnknownInstanceError extends Error {
  override readonly name = 'UnknownInstanceError';
}

async function known(ctx: Context, instanceId: string): Promise<void> {
  const setup = await loadBots(ctx);
  if (!setup.instances.some((i) => i.id === instanceId)) {
    throw new UnknownInstanceError(`no configured bot instance "${instanceId}" (see quorum bots)`);
  }
}

/** Takes an instance out of service until released; workers stop giving it jobs within a second. */
export async function disableInstance(ctx: Context, instanceId: string, reason: string, by: string): Promise<void> {
  await known(ctx, instanceId);
  await ctx.health.disable(instanceId, { reason, at: Date.now(), by });
  ctx.log.warn({ instanceId, reason, by }, 'bot instance disabled');
}

/** Lifts a person's disable (a quarantine, if any, stays); whether there was one to lift. */
export async function enableInstance(ctx: Context, instanceId: string, by: string): Promise<{ wasDisabled: boolean }> {
  await known(ctx, instanceId);
  const wasDisabled = await ctx.health.enable(instanceId);
  ctx.log.warn({ instanceId, by, wasDisabled }, 'bot instance enabled');
  return { wasDisabled };
}

/** Ends a quarantine with a clean run of failures (a person's disable, if any, stays). */
export async function resetQuarantine(ctx: Context, instanceId: string, by: string): Promise<{ wasQuarantined: boolean }> {
  await known(ctx, instanceId);
  const wasQuarantined = await ctx.health.resetQuarantine(instanceId);
  ctx.log.warn({ instanceId, by, wasQuarantined }, 'bot instance quarantine reset');
  if (wasQuarantined) await notifyReleased(ctx, instanceId, by);
  return { wasQuarantined };
}

async function notifyReleased(ctx: Context, instanceId: string, by: string): Promise<void> {
  await ctx.queues.notify({
    ...stamp('notification', 1, Date.now()),
    priority: 'info',
    event: 'bot.released',
    title: `bot instance ${instanceId} released from quarantine (${by})`,
    body: 'it receives jobs again',
  });
}

/** Puts a quarantined or disabled instance back in service with a clean run of failures. */
export async function releaseInstance(ctx: Context, instanceId: string, by: string): Promise<{ wasQuarantined: boolean; wasDisabled: boolean }> {
  await known(ctx, instanceId);
  const released = await ctx.health.release(instanceId);
  ctx.log.warn({ instanceId, by, ...released }, 'bot instance released');
  if (released.wasQuarantined) await notifyReleased(ctx, instanceId, by);
  return released;
}
