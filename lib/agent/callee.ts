import { autobahn, type ProcedureHandler } from '../wamp/autobahn.js';
import { InternalError, OcsError } from '../errors.js';
import type { Logger } from '../log.js';

export type Procedure = (args: unknown[], kwargs: Record<string, unknown>) => unknown;

/**
 * The callee boundary: every procedure an agent registers goes through here. The handler's
 * return value becomes the single YIELD argument (OCS replies are one value, ocs-protocol §1.4).
 * An OcsError becomes a WAMP ERROR with its URI, `[message]` and `{code, details}`; anything
 * else is logged with its stack and sent as the internal-error URI with a generic message, so a
 * caller never sees autobahn's empty `wamp.error.runtime_error`.
 */
export function wrapProcedure(procedure: string, fn: Procedure, logger: Logger): ProcedureHandler {
  return async (args, kwargs) => {
    try {
      return await fn(args ?? [], kwargs ?? {});
    } catch (err) {
      if (err instanceof OcsError) {
        logger.debug({ procedure, code: err.code, msg: err.message }, 'call refused');
        throw new autobahn.Error(err.uri, [err.message], err.toWire());
      }
      logger.error({ procedure, err }, 'procedure failed');
      const internal = new InternalError(`internal error in ${procedure}`);
      throw new autobahn.Error(internal.uri, [internal.message], internal.toWire());
    }
  };
}
