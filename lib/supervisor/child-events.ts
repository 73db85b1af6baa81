import { CHILD_STATES, type ChildRecord, type ChildState, type SignalName } from './child-record.js';
import type { Schedule } from './schedule.js';

/** The vocabulary of the per-child state machine: its events, effects, transitions and results. */

export const REMOVE_MODES = ['stop', 'kill', 'disown'] as const;
export type RemoveMode = (typeof REMOVE_MODES)[number];

export const VANISH_CAUSES = ['gone', 'zombie', 'reused', 'reboot'] as const;
export type VanishCause = (typeof VANISH_CAUSES)[number];

export type ChildEvent =
  // operator requests
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'restart' }
  | { type: 'kill'; signal: SignalName }
  | { type: 'suspend' }
  | { type: 'resume' }
  | { type: 'signal'; signal: SignalName }
  | { type: 'reset' }
  | { type: 'cancel'; keep: boolean }
  | { type: 'update'; target: 'up' | 'down' }
  | { type: 'remove'; mode: RemoveMode }
  | { type: 'schedule'; schedule: Schedule | null; runNow?: boolean }
  // config and supervisor lifecycle
  | { type: 'config'; target: 'up' | 'down' }
  | { type: 'shutdown' }
  | { type: 'settle' }
  // observations
  | { type: 'spawned'; pid: number; pgid: number | null; startTicks: number | null; bootId: string | null }
  | { type: 'spawn_failed'; message: string }
  | { type: 'exited'; pid: number; code: number | null; signal: string | null; isKnown: boolean }
  | {
      type: 'adopted';
      pid: number;
      pgid: number | null;
      startTicks: number | null;
      bootId: string | null;
      isStopped: boolean;
      isOperable: boolean;
      cause: string;
    }
  | { type: 'vanished'; cause: VanishCause; isCharged: boolean }
  | { type: 'heartbeat' }
  | { type: 'expired' }
  | { type: 'probe'; isStopped: boolean }
  /** A resource sample broke a limit: `reason` is what the history and child_states show. */
  | { type: 'limit_exceeded'; reason: string }
  /** What this child is after may have become ready (or stopped being so): re-check the wait. */
  | { type: 'dependencies' }
  /** A requirement of this child stopped for good: a running dependant is stopped and waits for it again. */
  | { type: 'requirement_down'; id: string }
  // timers
  | { type: 'tick' };

export type ChildEventType = ChildEvent['type'];

export type ChildEffect =
  | { type: 'spawn' }
  | { type: 'signal'; signal: SignalName }
  /** Forget the child (after its process ended, or right away when nothing runs). */
  | { type: 'remove' }
  /** Forget the child and leave its process running. */
  | { type: 'disown' };

export interface Transition {
  from: ChildState;
  to: ChildState;
  cause: string;
  atMs: number;
}

export interface StepContext {
  nowMs: number;
  /** U[0,1) for backoff jitter. */
  random: () => number;
  /** No automatic starts (supervisor initialising or shutting down). Stops still happen. */
  isHeld: boolean;
  /** Ids this child is after (requires ∪ after) that are not ready now; a start waits in PENDING for them. */
  waitingFor?: readonly string[];
}

export interface StepReply {
  ok: boolean;
  message: string;
}

export interface StepResult {
  record: ChildRecord;
  effects: ChildEffect[];
  transitions: Transition[];
  reply: StepReply;
  isDesiredChanged: boolean;
  isRemoved: boolean;
}

/** Grace after our own SIGSTOP/SIGCONT during which a contradicting /proc state is ignored. */
export const SUSPEND_PROBE_GRACE_MS = 500;

const IDLE_STATES: readonly ChildState[] = [CHILD_STATES.STOPPED, CHILD_STATES.EXITED, CHILD_STATES.KILLED, CHILD_STATES.PENDING];
const LIVE_STATES: readonly ChildState[] = [CHILD_STATES.STARTING, CHILD_STATES.RUNNING, CHILD_STATES.SUSPENDED, CHILD_STATES.STOPPING, CHILD_STATES.UNKNOWN];

/** Whether a state has (or is about to have) a live process. */
export function isLiveState(state: ChildState): boolean {
  return LIVE_STATES.includes(state);
}

/** Whether a state is at rest without a process (a start may begin from it). */
export function isIdleState(state: ChildState): boolean {
  return IDLE_STATES.includes(state);
}
