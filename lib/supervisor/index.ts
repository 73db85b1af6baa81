/** The supervisor core: public surface for the HostManager agent. */
export {
  Supervisor,
  ENV_SUPERVISOR,
  ENV_SUPERVISOR_ID,
  ENV_SUPERVISED_ID,
  DEFAULT_POLL_INTERVAL_MS,
  EXIT_STDERR_TAIL_LINES,
  type SupervisorOptions,
  type SupervisorEvents,
  type SupervisorStatus,
  type SupervisorPhase,
  type ChildSummary,
  type VerbResult,
  type ChildResult,
  type InitReport,
  type SyncReport,
  type LogsResult,
  type TransitionEvent,
  type ExitEvent,
} from './supervisor.js';
export {
  CHILD_STATES,
  TARGETS,
  OWNERS,
  SignalSchema,
  ChildSpecSchema,
  ChildRecordSchema,
  isSignalName,
  type ChildState,
  type ChildRecord,
  type ChildSpec,
  type Desired,
  type Current,
  type LastExit,
  type SignalName,
  type Target,
} from './child-record.js';
export { stepChild, markUnknown, REMOVE_MODES, type ChildEvent, type ChildEffect, type RemoveMode, type StepResult } from './child-state.js';
export { childStateEntry, serviceView, nextActionOf, type ChildStateEntry, type ServiceView, type NextAction } from './child-view.js';
export {
  RestartPolicySchema,
  DEFAULT_RESTART_POLICY,
  RESTART_MODES,
  decideRestart,
  classifyExit,
  backoffDelayMs,
  stability,
  type RestartPolicy,
  type RestartMode,
  type RestartDecision,
  type ExitInfo,
  type FailureHistory,
} from './restart-policy.js';
export { ScheduleSchema, ScheduleRequestSchema, scheduleFromRequest, nextFireMs, validateCron, type Schedule, type ScheduleRequest } from './schedule.js';
export {
  SupervisedEntrySchema,
  SuperviseSettingsSchema,
  ENTRY_MANAGE,
  planEntry,
  type SupervisedEntry,
  type SuperviseSettings,
  type EntryManage,
} from './supervised-entry.js';
export {
  IdsSchema,
  CreateParamsSchema,
  OpenParamsSchema,
  RemoveParamsSchema,
  LogsParamsSchema,
  DieParamsSchema,
  UpdateParamsSchema,
  type Ids,
  type CreateParams,
  type OpenParams,
  type RemoveParams,
  type LogsParams,
  type DieParams,
  type UpdateRequest,
} from './verb-params.js';
export { type HistoryRecord } from './history-log.js';
export { InstanceLock } from './instance-lock.js';
export { StateStore, SupervisorStateSchema, STATE_SCHEMA_VERSION, type SupervisorState } from './state-store.js';
export { ProcIdentity, parseProcStat, type ProcStat, type ProbeResult } from './proc-identity.js';
export { NodeProcessControl, type ProcessControl, type SpawnHandle, type SpawnRequest } from './process-control.js';
export { ChildLogFiles, tailFile } from './log-files.js';
export { planReconcile, type ReconcilePlan, type Orphan } from './reconcile.js';
