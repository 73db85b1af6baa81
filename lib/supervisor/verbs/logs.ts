import type { SupervisorCore } from '../event-loop.js';
import { ChildLogFiles, type LogStream } from '../log-files.js';
import type { LogsResult } from '../supervisor-types.js';
import { LogsParamsSchema, parseParams, type LogsParams } from '../verb-params.js';

/** Tail of a child's stdout/stderr files (of a removed child too, while its files are left). */
export function childLogs(core: SupervisorCore, params: LogsParams): LogsResult {
  const p = parseParams(LogsParamsSchema, params, 'logs');
  const rt = core.children.get(p.id);
  const logs = rt?.logs ?? new ChildLogFiles(core.logDir, p.id, { maxBytes: 1, keep: 0 });
  const pick = (stream: LogStream) => (p.stream === 'both' || p.stream === stream ? logs.tail(stream, p.lines) : []);
  return { ok: rt !== undefined, message: rt === undefined ? `unknown child '${p.id}' (showing any files left)` : 'ok', id: p.id, stdout: pick('stdout'), stderr: pick('stderr') };
}
