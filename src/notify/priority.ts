/** Notification priorities, lowest first. */
export const PRIORITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function rank(p: Priority): number {
  return PRIORITIES.indexOf(p);
}

/** Whether `p` is at least `min` (a channel's minimum priority). */
export function atLeast(p: Priority, min: Priority): boolean {
  return rank(p) >= rank(min);
}

export function highest(ps: readonly Priority[]): Priority {
  return ps.reduce<Priority>((top, p) => (rank(p) > rank(top) ? p : top), 'info');
}
