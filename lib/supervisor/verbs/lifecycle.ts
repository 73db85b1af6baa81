import type { SupervisorCore } from '../event-loop.js';
import type { ChildResult, VerbResult } from '../supervisor-types.js';
import { RemoveParamsSchema, UpdateParamsSchema, parseParams, type Ids, type RemoveParams, type UpdateRequest } from '../verb-params.js';
import { checkOpen, eachChild, finish, resultFor, summarise } from './verb-support.js';

/** Verbs that move a child's target and run or stop it: start, stop, restart, reset, cancel, remove, update. */

/** Target up and start now (also the way out of CRASHED, KILLED, EXITED). */
export function startChildren(core: SupervisorCore, ids: Ids): VerbResult {
  return eachChild(core, 'start', ids, { ids }, { type: 'start' });
}

/** Target down; the stop sequence runs (stop signal → timeout → SIGKILL to the group). */
export function stopChildren(core: SupervisorCore, ids: Ids): VerbResult {
  return eachChild(core, 'stop', ids, { ids }, { type: 'stop' });
}

/** Stop, then start again; not charged to the failure budget. */
export function restartChildren(core: SupervisorCore, ids: Ids): VerbResult {
  return eachChild(core, 'restart', ids, { ids }, { type: 'restart' });
}

/** Clears the failure window, streak and stuck flag; a CRASHED child with target up starts. */
export function resetChildren(core: SupervisorCore, ids: Ids): VerbResult {
  return eachChild(core, 'reset', ids, { ids }, { type: 'reset' });
}

/** Cancels a PENDING start: removes the child, or keeps it STOPPED with `keep`. */
export function cancelStart(core: SupervisorCore, id: string, keep: boolean): VerbResult {
  return eachChild(core, 'cancel', id, { id, keep }, { type: 'cancel', keep });
}

/** Removes children: a running one is stopped, killed, or left running untracked (disown). */
export function removeChildren(core: SupervisorCore, params: RemoveParams): VerbResult {
  const p = parseParams(RemoveParamsSchema, params, 'remove');
  return eachChild(core, 'remove', p.ids, { ...p }, { type: 'remove', mode: p.running });
}

/** HostManager's update: (id | 'all', 'up' | 'down') pairs, applied in order. */
export function updateTargets(core: SupervisorCore, requests: readonly UpdateRequest[]): VerbResult {
  const list = parseParams(UpdateParamsSchema, requests, 'update');
  const params = { requests: list };
  const closed = checkOpen(core, 'update', params);
  if (closed) return closed;
  const results: ChildResult[] = [];
  for (const [target, state] of list) {
    const ids = target === 'all' ? [...core.children.keys()] : [target];
    for (const id of ids) results.push(resultFor(core, id, core.dispatch(id, { type: 'update', target: state })));
  }
  const { ok, message } = summarise(results, (n) => `${n} updated`);
  return finish(core, 'update', params, { ok, message, results });
}
