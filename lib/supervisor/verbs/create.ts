import { adoptionFacts, judgeAdoption } from '../adoption-rule.js';
import { CHILD_STATES, ChildSpecSchema, newChildRecord, type ChildSpec } from '../child-record.js';
import type { StepReply } from '../child-state.js';
import type { SupervisorCore } from '../event-loop.js';
import { isStoppedState } from '../proc-identity.js';
import { scheduleFromRequest } from '../schedule.js';
import type { VerbResult } from '../supervisor-types.js';
import { CreateParamsSchema, OpenParamsSchema, parseParams, type CreateParams, type OpenParams } from '../verb-params.js';
import { checkOpen, finish, refusal, resultFor } from './verb-support.js';

/** Verbs that add a child the site file does not list: create (a command) and open (a running pid). */

function parseSpec(input: Record<string, unknown>): ChildSpec {
  return parseParams(ChildSpecSchema, input, 'spec');
}

/** Creates a child running an arbitrary command. Refused unless exec is enabled. */
export function createChild(core: SupervisorCore, params: CreateParams): VerbResult {
  const raw = params as Record<string, unknown>;
  const closed = checkOpen(core, 'create', raw);
  if (closed) return closed;
  if (!core.allowExec) {
    return finish(core, 'create', raw, refusal('create refused: running arbitrary commands is disabled on this supervisor (enable exec to allow it)'));
  }
  const p = parseParams(CreateParamsSchema, params, 'create');
  if (core.children.has(p.id)) return finish(core, 'create', raw, refusal(`create refused: '${p.id}' already exists`));
  const now = core.clock.nowMs();
  const schedule = p.schedule === undefined ? null : scheduleFromRequest(p.schedule, now);
  const restart = { ...(p.restart ?? {}) };
  if (p.restartTimes !== undefined) Object.assign(restart, { maxRestarts: p.restartTimes, windowMs: null });
  const spec = parseSpec({
    id: p.id,
    source: 'create',
    agentClass: p.agentClass ?? null,
    cmd: p.cmd,
    cwd: p.cwd ?? null,
    env: p.env ?? {},
    restart,
    log: p.log ?? {},
    limits: p.limits ?? {},
    ...(p.stopSignal !== undefined ? { stopSignal: p.stopSignal } : {}),
    ...(p.stopTimeoutMs !== undefined ? { stopTimeoutMs: p.stopTimeoutMs } : {}),
    ...(p.killTimeoutMs !== undefined ? { killTimeoutMs: p.killTimeoutMs } : {}),
    ...(p.ready !== undefined ? { ready: p.ready } : {}),
    ...(p.readyTimeoutMs !== undefined ? { readyTimeoutMs: p.readyTimeoutMs } : {}),
    ...(p.hungRestartAfterMs !== undefined ? { hungRestartAfterMs: p.hungRestartAfterMs } : {}),
  });
  core.addChild(newChildRecord(spec, now, 'operator'));
  core.audit({ kind: 'event', id: p.id, event: 'child.created', message: p.cmd.join(' ') });
  let reply: StepReply;
  if (schedule !== null) reply = core.dispatch(p.id, { type: 'schedule', schedule, runNow: p.schedule?.runAtCreate ?? false });
  else if (p.createStopped) reply = { ok: true, message: 'created stopped' };
  else reply = core.dispatch(p.id, { type: 'start' });
  core.persistence.persistNow();
  const result = resultFor(core, p.id, reply);
  return finish(core, 'create', raw, { ok: result.ok, message: `created; ${result.message}`, results: [result] });
}

/**
 * Adopts a running process by pid: checks it exists and is not a zombie (and its command line,
 * if asked), that it is provably ours (adoption-rule.ts), records its start time as identity, then
 * polls it. With `cmd` it can be run again after it exits (needs exec enabled); without, it is passive.
 */
export function openChild(core: SupervisorCore, params: OpenParams): VerbResult {
  const raw = params as Record<string, unknown>;
  const closed = checkOpen(core, 'open', raw);
  if (closed) return closed;
  const p = parseParams(OpenParamsSchema, params, 'open');
  const refuse = (message: string) => finish(core, 'open', raw, refusal(`open refused: ${message}`));
  if (p.cmd !== undefined && !core.allowExec) return refuse('a command to run again needs exec enabled on this supervisor');
  const id = p.id ?? `pid-${p.pid}`;
  if (core.children.has(id)) return refuse(`'${id}' already exists`);
  for (const rt of core.children.values()) {
    if (rt.record.current.pid === p.pid) return refuse(`pid ${p.pid} is already supervised as '${rt.record.spec.id}'`);
  }
  const proc = core.control.proc;
  const probe = proc.probe(p.pid, null);
  if (probe.status === 'gone') return refuse(`no process ${p.pid}`);
  if (probe.status !== 'alive') return refuse(`process ${p.pid} is a zombie (dead)`);
  const verdict = judgeAdoption(adoptionFacts(proc, p.pid, core.pid, core.siteInstanceIds(), core.allowExec));
  if (!verdict.ok) return refuse(verdict.reason);
  if (p.expectCmdline !== undefined) {
    const cmdline = (proc.cmdline(p.pid) ?? []).join(' ');
    if (!cmdline.includes(p.expectCmdline)) return refuse(`process ${p.pid} command line '${cmdline}' does not contain '${p.expectCmdline}'`);
  }
  const now = core.clock.nowMs();
  const spec = parseSpec({
    id,
    source: 'open',
    cmd: p.cmd ?? null,
    cwd: p.cwd ?? null,
    env: p.env ?? {},
    restart: p.restart ?? {},
    ...(p.stopSignal !== undefined ? { stopSignal: p.stopSignal } : {}),
    ...(p.stopTimeoutMs !== undefined ? { stopTimeoutMs: p.stopTimeoutMs } : {}),
  });
  const rec = newChildRecord(spec, now, 'operator');
  rec.desired.target = p.cmd === undefined ? 'passive' : 'up';
  rec.desired.reason = 'open';
  rec.current.state = CHILD_STATES.UNKNOWN;
  rec.current.priorState = CHILD_STATES.RUNNING;
  core.addChild(rec);
  const stat = probe.stat;
  const reply = core.dispatch(id, {
    type: 'adopted',
    pid: p.pid,
    pgid: stat.pgrp,
    startTicks: stat.startTicks,
    bootId: core.bootId,
    isStopped: isStoppedState(stat.state),
    isOperable: core.control.isPermitted(p.pid),
    cause: 'opened',
  });
  core.persistence.persistNow();
  const result = resultFor(core, id, reply);
  const note = core.children.get(id)?.record.current.isOperable ? '' : ' (not permitted to signal it: monitoring only)';
  return finish(core, 'open', raw, { ok: true, message: `adopted pid ${p.pid} as '${id}' (${verdict.proof})${note}`, results: [result] });
}
