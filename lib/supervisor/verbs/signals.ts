import { SignalSchema, type SignalName } from '../child-record.js';
import type { SupervisorCore } from '../event-loop.js';
import type { VerbResult } from '../supervisor-types.js';
import { parseParams, type Ids } from '../verb-params.js';
import { eachChild } from './verb-support.js';

/** Verbs that signal a child's process group: suspend, resume, kill, signal. */

/** SIGSTOP the group: SUSPENDED (refused while STARTING). Survives supervisor restarts. */
export function suspendChildren(core: SupervisorCore, ids: Ids): VerbResult {
  return eachChild(core, 'suspend', ids, { ids }, { type: 'suspend' });
}

/** SIGCONT the group: RUNNING again. */
export function resumeChildren(core: SupervisorCore, ids: Ids): VerbResult {
  return eachChild(core, 'resume', ids, { ids }, { type: 'resume' });
}

/** Target down and signal (SIGKILL by default); ends KILLED, which stays down until start. */
export function killChildren(core: SupervisorCore, ids: Ids, signal: SignalName): VerbResult {
  return eachChild(core, 'kill', ids, { ids, signal }, { type: 'kill', signal: parseParams(SignalSchema, signal, 'kill') });
}

/** A raw signal to the child's group; no state change except what /proc then shows. */
export function signalChild(core: SupervisorCore, id: string, signal: SignalName): VerbResult {
  return eachChild(core, 'signal', id, { id, signal }, { type: 'signal', signal: parseParams(SignalSchema, signal, 'signal') });
}
