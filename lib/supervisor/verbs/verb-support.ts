import type { ChildEvent, StepReply } from '../child-state.js';
import type { SupervisorCore } from '../event-loop.js';
import type { ChildResult, VerbResult } from '../supervisor-types.js';
import { IdsSchema, parseParams, type Ids } from '../verb-params.js';

/**
 * What every verb family shares: refusals as results, one result per child, the audit record of
 * each request, the check that the supervisor is running, and "send one event to each of ids".
 */

export function refusal(message: string, results: ChildResult[] = []): VerbResult {
  return { ok: false, message, results };
}

export function resultFor(core: SupervisorCore, id: string, reply: StepReply): ChildResult {
  const rec = core.children.get(id)?.record;
  return { id, ok: reply.ok, message: reply.message, state: rec?.current.state ?? null, pid: rec?.current.pid ?? null };
}

/** Audits the request and logs it; returns the result unchanged. */
export function finish(core: SupervisorCore, verb: string, params: Record<string, unknown>, result: VerbResult): VerbResult {
  core.audit({ kind: 'request', id: result.results.length === 1 ? (result.results[0]?.id ?? null) : null, verb, params, ok: result.ok, message: result.message });
  core.log.info({ verb, ok: result.ok, message: result.message }, 'supervisor request');
  return result;
}

/** A refusal when the supervisor is not running (not initialised, or shutting down); null when it is. */
export function checkOpen(core: SupervisorCore, verb: string, params: Record<string, unknown>): VerbResult | null {
  if (core.phase === 'running') return null;
  const why = core.phase === 'closing' || core.phase === 'closed' ? 'shutting down' : 'not initialised';
  return finish(core, verb, params, refusal(`${verb} refused: supervisor ${why}`));
}

/** Per-child results folded into one message: the only one, "N children: ok", or the failures. */
export function summarise(results: ChildResult[], okMessage: (n: number) => string): { ok: boolean; message: string } {
  const ok = results.every((r) => r.ok);
  const failures = () => results.filter((r) => !r.ok).map((r) => `${r.id}: ${r.message}`).join('; ');
  return { ok, message: ok ? okMessage(results.length) : failures() };
}

/** Sends one event to each of `ids` ('all', one id or a list); one result per id. */
export function eachChild(core: SupervisorCore, verb: string, ids: Ids, params: Record<string, unknown>, event: ChildEvent): VerbResult {
  const closed = checkOpen(core, verb, params);
  if (closed) return closed;
  const parsed = parseParams(IdsSchema, ids, verb);
  const list = parsed === 'all' ? [...core.children.keys()] : typeof parsed === 'string' ? [parsed] : [...parsed];
  const results = list.map((id) => resultFor(core, id, core.dispatch(id, event)));
  if (results.length <= 1) {
    const only = results[0];
    return finish(core, verb, params, { ok: only?.ok ?? true, message: only === undefined ? 'no children' : only.message, results });
  }
  const { ok, message } = summarise(results, (n) => `${n} children: ok`);
  return finish(core, verb, params, { ok, message, results });
}
