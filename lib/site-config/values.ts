import { z } from 'zod';

/**
 * Value schemas shared by the site file, the command line and the environment, so one bad
 * value gets the same message wherever it comes from.
 */

/** Describes a rejected input for messages: `'abc'`, `16`, `true`, `null`, `a list`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** An error callback for a schema: "expected <what>, got <value>". */
export function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? MISSING : `expected ${what}, got ${describeValue(issue.input)}`);
}

/** The message for a required key that is not there (YAML never yields `undefined`). */
export const MISSING = 'required key is missing';

function urlWithProtocol(what: string, protocols: readonly string[]) {
  return z.string({ error: expected(what) }).refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { error: expected(what) },
  );
}

/** The router's WebSocket URL (`hub.wamp_server`, `--site-hub`, `SITE_HUB`). */
export const WampUrlSchema = urlWithProtocol('a ws:// or wss:// URL', ['ws:', 'wss:']);

/** The router's HTTP call bridge (`hub.wamp_http`, `--site-http`, `SITE_HTTP`). */
export const HttpUrlSchema = urlWithProtocol('an http:// or https:// URL', ['http:', 'https:']);

/** A WAMP realm (`hub.wamp_realm`, `--site-realm`). */
export const RealmSchema = z
  .string({ error: expected('a realm name') })
  .regex(/^\S+$/, { error: expected('a realm name without spaces') });

/** The first URI component(s) of every agent address (`hub.address_root`, `--address-root`). */
export const AddressRootSchema = z
  .string({ error: expected('an address root') })
  .regex(/^[^\s#.]+(\.[^\s#.]+)*$/, { error: expected("an address root (dot-separated words, no spaces or '#')") });

/** An agent instance-id; it becomes one WAMP URI component, so no dots. */
export const InstanceIdSchema = z
  .string({ error: expected('an instance-id') })
  .regex(/^[^\s#.]+$/, { error: expected("an instance-id without '.', '#' or spaces") });

/** An OCS agent class name such as `FakeDataAgent`. */
export const AgentClassSchema = z
  .string({ error: expected('an agent class name') })
  .regex(/^\S+$/, { error: expected('an agent class name without spaces') });

/** Seconds an agent waits for the router before giving up; 0 = never give up. */
export const CrossbarTimeoutSchema = z
  .number({ error: expected('a whole number of seconds >= 0') })
  .int({ error: expected('a whole number of seconds >= 0') })
  .min(0, { error: expected('a whole number of seconds >= 0') });

/** The same, given as text (command line and environment). */
export const CrossbarTimeoutTextSchema = z
  .string()
  .regex(/^\s*\+?\d+\s*$/, { error: expected('a whole number of seconds >= 0') })
  .transform((s) => Number(s.trim()));

/** A non-empty path or name. */
export const NonEmptyTextSchema = z.string({ error: expected('a non-empty string') }).min(1, { error: expected('a non-empty string') });
