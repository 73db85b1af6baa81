/**
 * Authentication at HELLO: anonymous, ticket and WAMP-CRA (plain and salted), from the static
 * `auth` section of the config, as crossbar's static authenticators behave.
 */
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthConfig } from './config.js';
import { type Dict } from './messages.js';
import { WAMP_ERRORS } from '../errors.js';

export interface AuthIdentity {
  authid: string;
  authrole: string;
  authmethod: string;
  authprovider: string;
}

export type AuthOutcome =
  | { kind: 'welcome'; identity: AuthIdentity }
  | { kind: 'challenge'; method: string; extra: Dict; verify: (signature: string) => AuthIdentity | AuthRefusal }
  | AuthRefusal;

export interface AuthRefusal {
  kind: 'refuse';
  reason: string;
  message: string;
}

/** The key a salted WAMP-CRA user signs with: base64(PBKDF2-SHA256(secret, salt)), as autobahn's derive_key. */
export function deriveCraKey(secret: string, salt: string, iterations = 1000, keylen = 32): string {
  return pbkdf2Sync(Buffer.from(secret, 'utf8'), Buffer.from(salt, 'utf8'), iterations, keylen, 'sha256').toString('base64');
}

/** base64(HMAC-SHA256(key, challenge)), as autobahn's auth_cra.sign. */
export function signCraChallenge(key: string, challenge: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(challenge, 'utf8').digest('base64');
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A crossbar-like anonymous authid (`XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`). */
export function anonymousAuthid(): string {
  const alphabet = '345679ACEFGHJKLMNPQRSTUVWXY';
  const bytes = randomBytes(24);
  let out = '';
  for (let i = 0; i < 24; i++) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += alphabet[bytes[i]! % alphabet.length];
  }
  return out;
}

function refuse(reason: string, message: string): AuthRefusal {
  return { kind: 'refuse', reason, message };
}

export interface AuthContext {
  realm: string;
  sessionId: number;
  hasRole(role: string): boolean;
}

/**
 * Decides HELLO: WELCOME at once, a CHALLENGE to answer, or a refusal. Methods are tried in the
 * client's order among those configured; a client that offers none of them is refused with
 * `wamp.error.no_auth_method`.
 */
export function beginAuthentication(config: AuthConfig, ctx: AuthContext, details: Dict): AuthOutcome {
  const offered = Array.isArray(details['authmethods']) ? (details['authmethods'] as unknown[]).filter((m): m is string => typeof m === 'string') : ['anonymous'];
  const authid = typeof details['authid'] === 'string' ? details['authid'] : undefined;
  for (const method of offered) {
    if (method === 'anonymous' && config.anonymous) {
      const role = config.anonymous.role;
      if (!ctx.hasRole(role)) return refuse(WAMP_ERRORS.NO_SUCH_ROLE, `role '${role}' does not exist on realm '${ctx.realm}'`);
      return { kind: 'welcome', identity: { authid: anonymousAuthid(), authrole: role, authmethod: 'anonymous', authprovider: 'static' } };
    }
    if (method === 'ticket' && config.ticket) {
      if (authid === undefined) return refuse(WAMP_ERRORS.NOT_AUTHORIZED, 'WAMP-Ticket authentication requires an authid');
      const principal = config.ticket.principals[authid];
      if (!principal) return refuse(WAMP_ERRORS.NOT_AUTHORIZED, `no principal with authid '${authid}' exists`);
      if (principal.realm !== undefined && principal.realm !== ctx.realm) return refuse(WAMP_ERRORS.NOT_AUTHORIZED, `principal '${authid}' may not join realm '${ctx.realm}'`);
      if (!ctx.hasRole(principal.role)) return refuse(WAMP_ERRORS.NO_SUCH_ROLE, `role '${principal.role}' does not exist on realm '${ctx.realm}'`);
      const identity: AuthIdentity = { authid, authrole: principal.role, authmethod: 'ticket', authprovider: 'static' };
      return {
        kind: 'challenge',
        method: 'ticket',
        extra: {},
        verify: (signature) => (safeEqual(signature, principal.ticket) ? identity : refuse(WAMP_ERRORS.NOT_AUTHORIZED, 'ticket in static WAMP-Ticket authentication is invalid')),
      };
    }
    if (method === 'wampcra' && config.wampcra) {
      if (authid === undefined) return refuse(WAMP_ERRORS.NOT_AUTHORIZED, 'WAMP-CRA authentication requires an authid');
      const user = config.wampcra.users[authid];
      if (!user) return refuse(WAMP_ERRORS.NOT_AUTHORIZED, `no user with authid '${authid}' exists`);
      if (user.realm !== undefined && user.realm !== ctx.realm) return refuse(WAMP_ERRORS.NOT_AUTHORIZED, `user '${authid}' may not join realm '${ctx.realm}'`);
      if (!ctx.hasRole(user.role)) return refuse(WAMP_ERRORS.NO_SUCH_ROLE, `role '${user.role}' does not exist on realm '${ctx.realm}'`);
      const identity: AuthIdentity = { authid, authrole: user.role, authmethod: 'wampcra', authprovider: 'static' };
      const challenge = JSON.stringify({
        authid,
        authrole: user.role,
        authmethod: 'wampcra',
        authprovider: 'static',
        session: ctx.sessionId,
        nonce: randomBytes(16).toString('base64'),
        timestamp: new Date().toISOString(),
      });
      const extra: Dict = { challenge };
      if (user.salt !== undefined) {
        extra['salt'] = user.salt;
        extra['iterations'] = user.iterations ?? 1000;
        extra['keylen'] = user.keylen ?? 32;
      }
      // As crossbar: a salted user's `secret` is the key derived from the password, which is
      // what the client signs with; a signature made with the raw password is refused.
      const expected = signCraChallenge(user.secret, challenge);
      return {
        kind: 'challenge',
        method: 'wampcra',
        extra,
        verify: (signature) => (safeEqual(signature, expected) ? identity : refuse(WAMP_ERRORS.NOT_AUTHORIZED, 'WAMP-CRA signature is invalid')),
      };
    }
  }
  return refuse(WAMP_ERRORS.NO_AUTH_METHOD, `cannot authenticate using any of the offered authmethods ${JSON.stringify(offered)}`);
}
