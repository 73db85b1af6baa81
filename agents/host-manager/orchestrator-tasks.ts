import type { z } from 'zod';
import { InvalidParamsError } from '../../lib/errors.js';
import type { Orchestrator, OrchestratorReply } from '../../lib/orchestrator/index.js';
import type { OrchestratorHost } from './orchestrator-binding.js';
import { markFloats } from '../../lib/ops/session-data.js';
import { ClearParamsSchema, FreezeParamsSchema, RelocateParamsSchema, RolloutParamsSchema, SetExpectParamsSchema, scopeServices } from './orchestrator-params.js';

/** The orchestrator's tasks on the HostManager: set_expect, freeze, thaw, relocate, clear, rollout. */

export const ORCHESTRATOR_NOT_RUNNING = 'Orchestrator process is not running';

/** What the tasks need of the binding. */
export interface OrchestratorTaskHost {
  runtime: Pick<OrchestratorHost, 'registerTask'>;
  privs(op: string): number;
  /** The orchestrator while its process runs, else null (the tasks are refused). */
  running(): Orchestrator | null;
  /** One tick after a task, so its effect goes out at once. */
  step(): void;
  /** The site file's cluster service names. */
  services(): string[];
}

export function registerOrchestratorTasks(host: OrchestratorTaskHost): void {
  task(host, 'set_expect', SetExpectParamsSchema, 'set_expect(service, global_expect)\n\n**Task** - Cluster-wide intent for a service: started, stopped, frozen, thawed or placed (back on the best-ranked hosts).', (orch, p) =>
    orch.setExpect(p.service, p.global_expect),
  );
  task(host, 'freeze', FreezeParamsSchema, "freeze(scope='node')\n\n**Task** - No automatic action: on this host ('node': it takes nothing new, keeps its instances) or for the named services on this host.", (orch, p) =>
    freeze(host, orch, p.scope, true),
  );
  task(host, 'thaw', FreezeParamsSchema, "thaw(scope='node')\n\n**Task** - Undo freeze for this host ('node') or the named services on this host.", (orch, p) => freeze(host, orch, p.scope, false));
  task(host, 'relocate', RelocateParamsSchema, 'relocate(service, to)\n\n**Task** - Move a service to one of its hosts (stop where it runs, then start there).', (orch, p) => orch.relocate(p.service, p.to));
  registerRollout(host);
  task(host, 'clear', ClearParamsSchema, 'clear(service, node=None)\n\n**Task** - Lift start_failed / stop_failed of a service on a host (default: this one).', (orch, p) =>
    p.node == null ? orch.clear(p.service) : orch.clear(p.service, p.node),
  );
}

/** How often the rollout task steps the orchestrator and refreshes its session data. */
const ROLLOUT_STEP_MS = 100;

/**
 * `rollout` runs until the rolling restart ends: its session data is the report (per instance:
 * host, result, seconds to RUNNING again), its result the report's message; abort stops it
 * between batches (the instances restarting finish their restart).
 */
function registerRollout(host: OrchestratorTaskHost): void {
  host.runtime.registerTask('rollout', {
    fn: async (session, p) => {
      const orch = host.running();
      if (orch === null) return [false, ORCHESTRATOR_NOT_RUNNING];
      session.data = markFloats({ ...orch.startRollout(p.service, p.max_unavailable, p.timeout * 1000, p.min_ready * 1000) });
      for (;;) {
        host.step();
        const current = host.running();
        const report = current?.rolloutReport(p.service) ?? null;
        if (current === null || report === null) return [false, `rollout of ${p.service} ended: ${ORCHESTRATOR_NOT_RUNNING}`];
        session.data = markFloats({ ...report });
        if (report.status !== 'running') return [report.status === 'done', `rollout of ${p.service} ${report.status}: ${report.message}`];
        if (!(await session.sleep(ROLLOUT_STEP_MS))) current.abortRollout(p.service, 'aborted by a request');
      }
    },
    aborter: () => [true, 'Requested rollout abort.'] as const,
    params: RolloutParamsSchema,
    blocking: false,
    minPrivs: host.privs('rollout'),
    docstring:
      'rollout(service, max_unavailable=1, timeout=60, min_ready=1)\n\n**Task** - Rolling restart of a cluster service across its hosts: one batch of at most max_unavailable instances at a time, the next once they have been RUNNING again for min_ready seconds, never fewer than instances - max_unavailable ready. Stops with a report when an instance is not ready within timeout seconds of its restart.',
  });
}

function task<S extends z.ZodObject>(host: OrchestratorTaskHost, name: string, schema: S, docstring: string, fn: (orch: Orchestrator, params: z.infer<S>) => OrchestratorReply): void {
  host.runtime.registerTask(name, {
    fn: (session, params) => {
      const orch = host.running();
      if (orch === null) return [false, ORCHESTRATOR_NOT_RUNNING];
      const result = fn(orch, params);
      host.step();
      session.data = { ok: result.ok, message: result.message };
      return [result.ok, result.message];
    },
    params: schema,
    blocking: false,
    minPrivs: host.privs(name),
    docstring,
  });
}

function freeze(host: OrchestratorTaskHost, orch: Orchestrator, scope: 'node' | string | string[], isFreeze: boolean): OrchestratorReply {
  const services = scopeServices(scope);
  if (services === null) return isFreeze ? orch.freezeNode() : orch.thawNode();
  const known = host.services();
  const unknown = services.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new InvalidParamsError(`no cluster service ${unknown.map((s) => `'${s}'`).join(', ')}`, { details: { services: known } });
  }
  const results = services.map((s) => (isFreeze ? orch.freezeService(s) : orch.thawService(s)));
  return { ok: results.every((r) => r.ok), message: results.map((r) => r.message).join('; ') };
}
