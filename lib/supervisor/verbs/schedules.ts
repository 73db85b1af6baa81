import type { SupervisorCore } from '../event-loop.js';
import { ScheduleRequestSchema, scheduleFromRequest, type ScheduleRequest } from '../schedule.js';
import type { VerbResult } from '../supervisor-types.js';
import { parseParams } from '../verb-params.js';
import { checkOpen, eachChild } from './verb-support.js';

/** Sets (or with null clears) a child's schedule: at a time, after a delay, or cron. */
export function scheduleChild(core: SupervisorCore, id: string, request: ScheduleRequest | null): VerbResult {
  const params = { id, schedule: request };
  const closed = checkOpen(core, 'schedule', params);
  if (closed) return closed;
  const schedule = request === null ? null : scheduleFromRequest(parseParams(ScheduleRequestSchema, request, 'schedule'), core.clock.nowMs());
  return eachChild(core, 'schedule', id, params, { type: 'schedule', schedule, runNow: request?.runAtCreate ?? false });
}
