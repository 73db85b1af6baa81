/**
 * OCS's fixed vocabularies (`ocs/base.py`, `ocs/access.py`, `ocs/ocs_agent.py`), numerically
 * identical to OCS because dashboards, the registry and clients compare the numbers.
 */

/** The state of one operation as published in heartbeats and sessions. */
export const OpCode = {
  NONE: 1,
  STARTING: 2,
  RUNNING: 3,
  STOPPING: 4,
  SUCCEEDED: 5,
  FAILED: 6,
  /** Used by the registry only: the agent stopped beating. */
  EXPIRED: 7,
  DEGRADED: 8,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

/** The first element of every `.ops` reply. */
export const ResponseCode = {
  OK: 0,
  ERROR: -1,
  TIMEOUT: 1,
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

/** Credential levels of access control (ocs-protocol §7). */
export const CredLevel = {
  BLOCKED: 0,
  BASIC: 1,
  ADVANCED: 2,
  FULL: 3,
  SUPERUSER: 4,
} as const;
export type CredLevel = (typeof CredLevel)[keyof typeof CredLevel];

/** Session statuses in the only order they may be visited. */
export const SESSION_STATUSES = ['starting', 'running', 'stopping', 'done'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export const SessionStatus = {
  STARTING: 'starting',
  RUNNING: 'running',
  STOPPING: 'stopping',
  DONE: 'done',
} as const satisfies Record<string, SessionStatus>;

const OP_CODE_NAMES = new Map<number, string>(Object.entries(OpCode).map(([name, code]) => [code, name]));
const CRED_LEVEL_NAMES = new Map<number, string>(Object.entries(CredLevel).map(([name, level]) => [level, name]));

/** `opCodeName(3) === 'RUNNING'`; an unknown number gives `UNKNOWN`. */
export function opCodeName(code: number): string {
  return OP_CODE_NAMES.get(code) ?? 'UNKNOWN';
}

/** Python's `str(CredLevel(n))`: `2-ADVANCED`. */
export function credLevelText(level: number): string {
  return `${level}-${CRED_LEVEL_NAMES.get(level) ?? 'UNKNOWN'}`;
}

/** True for an integer credential level 0–4. */
export function isCredLevel(value: unknown): value is CredLevel {
  return typeof value === 'number' && CRED_LEVEL_NAMES.has(value);
}
