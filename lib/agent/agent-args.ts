import { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * Turns an agent's own argument list (`--mode acq --num-channels 16 --gzip`) into an object
 * (`{mode: 'acq', num_channels: '16', gzip: true}`) and validates it with the class's zod schema.
 * Flag names become snake_case keys, as argparse does. A flag followed by another flag (or by
 * nothing) is `true`. Values stay strings: schemas coerce (`z.coerce.number()`), which keeps the
 * argparse semantics of site-file arguments, where every item is a string.
 */
export function tokenizeAgentArgs(argv: readonly string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!isFlag(token)) {
      throw new ConfigError(`unexpected argument '${token}' (agent arguments are --name value pairs)`, { details: { argument: token } });
    }
    const eq = token.indexOf('=');
    const name = (eq >= 0 ? token.slice(0, eq) : token).replace(/^-+/, '').replace(/-/g, '_');
    if (eq >= 0) {
      out[name] = token.slice(eq + 1);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || isFlag(next)) {
      out[name] = true;
    } else {
      out[name] = next;
      i++;
    }
  }
  return out;
}

/** A token is a flag when it starts with `-` followed by a letter (so `-5` is a value), as OCS. */
export function isFlag(token: string): boolean {
  return /^--?[A-Za-z]/.test(token);
}

export function parseAgentArgs<S extends z.ZodType>(argv: readonly string[], schema: S, agentClass: string): z.infer<S> {
  const raw = tokenizeAgentArgs(argv);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const flag = key ? `--${key.replace(/_/g, '-')}` : 'arguments';
      return `${flag}: ${issue.message}`;
    });
    throw new ConfigError(`${agentClass}: invalid arguments: ${problems.join('; ')}`, { details: { issues: parsed.error.issues } });
  }
  return parsed.data;
}

/** A boolean flag given as `--x`, `--x true|false|1|0|yes|no`. */
export const flagBoolean = z.union([z.literal(true), z.enum(['true', 'false', 'True', 'False', '1', '0', 'yes', 'no'])]).transform((v) => v === true || ['true', 'True', '1', 'yes'].includes(v));
