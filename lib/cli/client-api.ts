/**
 * `ocs client api <instance-id> [op]`: what an agent's `get_api` says of its ops, readable by
 * default: kind, blocking, abortable, min_privs, the parameters read from the docstring (names,
 * types, defaults) and the docstring itself; `--json` prints get_api's own entries.
 */
import type { AgentApi } from '../client/agent-api.js';
import { credLevelText } from '../ops/op-codes.js';
import { paramFields } from '../ops/docstring-params.js';
import type { ClientConfig } from '../site-config/resolve-client-config.js';
import { UsageError, connectClient, output, parse } from './client-common.js';

type OpEntry = AgentApi['tasks'][number];

function describeOp(kind: 'task' | 'process', [name, , info]: OpEntry): string {
  const facts = [kind, info.blocking === false ? 'non-blocking' : 'blocking'];
  if (kind === 'task' && info.abortable === true) facts.push('abortable');
  if (info.min_privs !== undefined) facts.push(`min_privs ${credLevelText(info.min_privs)}`);
  const lines = [`${name} (${facts.join(', ')})`];
  const fields = paramFields(name, info.docstring);
  if (fields.length > 0) {
    lines.push('  parameters:');
    for (const f of fields) lines.push(`    ${f.name} (${f.type}${f.defaultText === null ? ', required' : `, default ${f.defaultText}`})${f.doc ? `: ${f.doc}` : ''}`);
  } else {
    lines.push('  parameters: none documented');
  }
  if (info.docstring) lines.push('  docstring:', ...info.docstring.split('\n').map((l) => `    ${l}`.trimEnd()));
  return lines.join('\n');
}

export async function api(config: ClientConfig): Promise<number> {
  const { values, positionals } = parse(config.rest, {});
  const [instanceId, opName] = positionals;
  if (!instanceId) throw new UsageError('api needs <instance-id> [op]');
  const out = output(values['json'] === true);
  const client = await connectClient(config, instanceId);
  try {
    const a = client.api;
    const entries = [...a.tasks.map((e) => ['task', e] as const), ...a.processes.map((e) => ['process', e] as const)].filter(([, e]) => opName === undefined || e[0] === opName);
    if (opName !== undefined && entries.length === 0) {
      throw new UsageError(`${instanceId} has no op '${opName}' (ops: ${[...a.tasks, ...a.processes].map((e) => e[0]).join(', ')})`);
    }
    if (out.isJson) {
      for (const [kind, [name, session, info]] of entries) out.print('', { op_name: name, op_type: kind, session, info, params: paramFields(name, info.docstring) });
      return 0;
    }
    const head = `${instanceId}: ${a.agent_class ?? '?'}${a.access_control != null ? ` (access control: ${String(a.access_control['policy'] ?? 'on')})` : ''}`;
    process.stdout.write(`${[head, ...entries.map(([kind, e]) => describeOp(kind, e))].join('\n\n')}\n`);
    return 0;
  } finally {
    await client.close();
  }
}
