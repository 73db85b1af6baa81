/**
 * The one liveness rule of the system: no heartbeat for `agentTimeoutMs` ⇒ expired (at the
 * deadline exactly, not a millisecond later), and a heartbeat whose feed `session_id` differs from
 * the one known is a new process of the agent (a restart). The Registry's tracker, the
 * HostManager's own judgement without a Registry and its view of the Registry itself all decide by
 * these functions, so they cannot disagree; the orchestrator reads the Registry's verdict.
 */

/** When an agent heard last at `lastBeatMs` expires. */
export function expiryDeadlineMs(lastBeatMs: number, agentTimeoutMs: number): number {
  return lastBeatMs + agentTimeoutMs;
}

/** Whether an agent heard last at `lastBeatMs` is expired at `nowMs`. */
export function isExpiredAt(lastBeatMs: number, nowMs: number, agentTimeoutMs: number): boolean {
  return nowMs >= expiryDeadlineMs(lastBeatMs, agentTimeoutMs);
}

/** Whether a heartbeat with feed session `heard` comes from another process than `known` (null: not known). */
export function isNewSession(known: string | null, heard: string | null): boolean {
  return known !== null && heard !== null && heard !== known;
}
