import type { z } from 'zod';
import { InvalidParamsError } from '../../lib/errors.js';
import type { Orchestrator, OrchestratorReply } from '../../lib/orchestrator/index.js';
import type { OrchestratorHost } from './orchestrator-binding.js';
import { ClearParamsSchema, FreezeParamsSchema, RelocateParamsSchema, SetExpectParamsSchema, scopeServices } from './orchestrator-params.js';

/** The orchestrator's tasks on the HostManager: set_expect, freeze, thaw, relocate, clear. */

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
  task(host, 'clear', ClearParamsSchema, 'clear(service, node=None)\n\n**Task** - Lift start_failed / stop_failed of a service on a host (default: this one).', (orch, p) =>
    p.node == null ? orch.clear(p.service) : orch.clear(p.service, p.node),
  );
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
