/** What the `ocs client` subcommands share: option parsing, output, the WAMP session, the client and its credentials. */
import { parseArgs } from 'node:util';
import { parseErrorLine } from './parse-error.js';
import { OcsClient } from '../client/ocs-client.js';
import type { ClientConfig } from '../site-config/resolve-client-config.js';
import { WampConnection } from '../wamp/connection.js';

export interface Output {
  isJson: boolean;
  print(text: string, json: unknown): void;
}


export class UsageError extends Error {}

export function parse(rest: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...rest], options: { json: { type: 'boolean' }, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(parseErrorLine(err));
  }
}

export function output(isJson: boolean): Output {
  return {
    isJson,
    print: (text, json) => process.stdout.write(isJson ? `${JSON.stringify(json)}\n` : `${text}\n`),
  };
}

export function numberOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got '${String(value)}'`);
  return n;
}

export async function withSession<T>(config: ClientConfig, fn: (conn: WampConnection) => Promise<T>): Promise<T> {
  const conn = new WampConnection({ url: config.hub.wampServer, realm: config.hub.wampRealm });
  await conn.open();
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}


/** `--password PW` or `--privs 1|2|3` as OcsClient takes them (the password file otherwise). */
export function credentialOptions(values: Record<string, string | boolean | undefined>): { password?: string; privs?: 1 | 2 | 3 } {
  const out: { password?: string; privs?: 1 | 2 | 3 } = {};
  if (typeof values['password'] === 'string') out.password = values['password'];
  if (values['privs'] !== undefined) {
    const privs = Number(values['privs']);
    if (privs !== 1 && privs !== 2 && privs !== 3) throw new UsageError(`--privs needs 1, 2 or 3, got '${String(values['privs'])}'`);
    out.privs = privs;
  }
  return out;
}

export const CREDENTIAL_FLAGS = { password: { type: 'string' }, privs: { type: 'string' } } as const;

export function connectClient(config: ClientConfig, instanceId: string, credentials: { password?: string; privs?: 1 | 2 | 3 } = {}): Promise<OcsClient> {
  return OcsClient.connect(instanceId, {
    url: config.hub.wampServer,
    ...(config.hub.wampHttp ? { httpUrl: config.hub.wampHttp } : {}),
    realm: config.hub.wampRealm,
    addressRoot: config.hub.addressRoot,
    ...credentials,
  });
}
