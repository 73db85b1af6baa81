/**
 * Per-agent identities (the safe profile, `hub.identities: true`): every agent joins the router
 * with authid = its instance id and a ticket only it is given, so the router lets it register
 * and publish under its own address only (lib/router/identity-profile.ts).
 *
 * Tickets are derived, not stored: ticket(id) = hex HMAC-SHA256(key, id) from one site key
 * file (`<state-dir>/identity.key`, mode 0600, made by `ocs up`). The router and the
 * HostManager hold the key; a HostManager hands each child its own ticket only
 * (OCS_AGENT_TICKET), never the key.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { OcsEnv } from './env.js';

export const IDENTITY_KEY_FILE_NAME = 'identity.key';
/** The key file's variable (the router side and HostManagers). */
export const IDENTITY_KEY_FILE_VAR = 'OCS_IDENTITY_KEY_FILE';
/** One agent's own ticket (what a HostManager gives each child). */
export const AGENT_TICKET_VAR = 'OCS_AGENT_TICKET';

const KEY_TEXT = /^[0-9a-f]{64}$/;

/** Reads a key file; ConfigError naming it when it is missing or not 64 hex digits. */
export function readIdentityKey(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the identity key: ${(e as Error).message}`, { details: { source: path } });
  }
  if (!KEY_TEXT.test(text)) throw new ConfigError(`${path}: an identity key is 64 hex digits`, { details: { source: path } });
  return text;
}

/** Reads the key file, creating it (random, mode 0600) when it does not exist. */
export function ensureIdentityKey(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  return readIdentityKey(path);
}

/** The ticket of `instanceId` under `key`. */
export function agentTicket(key: string, instanceId: string): string {
  return createHmac('sha256', Buffer.from(key, 'hex')).update(instanceId, 'utf8').digest('hex');
}

/**
 * The ticket an agent process joins with: OCS_AGENT_TICKET, else derived from the key file of
 * OCS_IDENTITY_KEY_FILE; undefined when neither is set. `required` (the site uses identities)
 * makes a missing ticket a ConfigError that says what to set.
 */
export function ownTicket(env: OcsEnv, instanceId: string, required: boolean): string | undefined {
  if (env.agentTicket !== undefined) return env.agentTicket;
  if (env.identityKeyFile !== undefined) return agentTicket(readIdentityKey(env.identityKeyFile), instanceId);
  if (required) {
    throw new ConfigError(
      `the site uses agent identities (hub.identities: true), but '${instanceId}' has no ticket: set ${AGENT_TICKET_VAR}, or ${IDENTITY_KEY_FILE_VAR} to the site's key file (ocs up and HostManagers do this)`,
      { details: { instance_id: instanceId } },
    );
  }
  return undefined;
}
