import { WampFloat } from '../wamp/float.js';

/**
 * Session times are float unix seconds in OCS (ocs-protocol §9.5). A time that happens to fall on
 * a whole second is an integral JS number, which JSON writes as `1700000000` and Python reads as
 * an int; at the wire boundary such times are wrapped in WampFloat so they stay floats.
 */
function asFloat(v: unknown): unknown {
  return typeof v === 'number' && Number.isInteger(v) ? new WampFloat(v) : v;
}

/** A session (or the `{}` / no_history placeholder) with its times kept as floats on the wire. */
export function floatSessionTimes(session: unknown): unknown {
  if (session === null || typeof session !== 'object' || !('start_time' in session)) return session;
  const s = session as Record<string, unknown>;
  const messages = Array.isArray(s['messages']) ? (s['messages'] as unknown[]).map((m) => (Array.isArray(m) ? [asFloat(m[0]), ...m.slice(1)] : m)) : s['messages'];
  return { ...s, start_time: asFloat(s['start_time']), end_time: asFloat(s['end_time']), messages };
}

/** An `.ops` reply `[code, message, session]` with float session times. */
export function floatOpsReply(reply: readonly unknown[]): unknown[] {
  return [reply[0], reply[1], floatSessionTimes(reply[2])];
}

function floatOpList(list: unknown): unknown {
  return Array.isArray(list) ? list.map((e) => (Array.isArray(e) ? [e[0], floatSessionTimes(e[1]), ...e.slice(2)] : e)) : list;
}

/** A management reply (`get_api`, `get_tasks`, `get_processes`) with float session times. */
export function floatManagementReply(result: unknown): unknown {
  if (Array.isArray(result)) return floatOpList(result);
  if (result !== null && typeof result === 'object' && 'tasks' in result && 'processes' in result) {
    const api = result as Record<string, unknown>;
    return { ...api, processes: floatOpList(api['processes']), tasks: floatOpList(api['tasks']) };
  }
  return result;
}
