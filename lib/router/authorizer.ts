import type { Permission, Role } from './config.js';
import type { MatchPolicy } from './messages.js';
import { UriIndex } from './uri-index.js';

export type Action = 'call' | 'register' | 'publish' | 'subscribe';

interface PermissionEntry {
  uri: string;
  match: MatchPolicy;
  allow: Permission['allow'];
  disclose: Permission['disclose'];
}

const CACHE_LIMIT = 50_000;
const NONE: PermissionEntry = {
  uri: '',
  match: 'exact',
  allow: { call: false, register: false, publish: false, subscribe: false },
  disclose: { caller: false, publisher: false },
};

/** The placeholder a permission URI may hold: replaced by the session's authid. */
export const AUTHID_PLACEHOLDER = '{authid}';

/** Whether any permission of `role` is templated on the session's authid. */
export function isTemplatedRole(role: Role): boolean {
  return role.permissions.some((p) => p.uri.includes(AUTHID_PLACEHOLDER));
}

/** An authid that can stand in a URI component (no dots, whitespace or #): others match no templated permission. */
const URI_COMPONENT = /^[^\s.#]+$/;

/**
 * A role's static permissions, as crossbar applies them: the permission that best matches the URI
 * (exact, else the longest prefix, else the most specific wildcard) decides; no match denies.
 * With `authid`, `{authid}` in a permission URI stands for it (e.g. `observatory.{authid}.`:
 * a session may register and publish under its own address only); an authid that is not a URI
 * component leaves such permissions matching nothing.
 */
export class RoleAuthorizer {
  private readonly index = new UriIndex<PermissionEntry>();
  private readonly cache = new Map<string, PermissionEntry>();

  constructor(
    readonly role: Role,
    authid?: string,
  ) {
    const usable = authid !== undefined && URI_COMPONENT.test(authid) ? authid : undefined;
    for (const p of role.permissions) {
      if (p.uri.includes(AUTHID_PLACEHOLDER) && usable === undefined) continue;
      // crossbar's old catch-all spelling
      const uri = p.uri === '*' ? '' : p.uri.replaceAll(AUTHID_PLACEHOLDER, usable ?? '');
      const match: MatchPolicy = p.uri === '*' ? 'prefix' : p.match;
      const existing = this.index.get(uri, match);
      if (existing) {
        // several rules for one (uri, match): any allow wins
        existing.allow = {
          call: existing.allow.call || p.allow.call,
          register: existing.allow.register || p.allow.register,
          publish: existing.allow.publish || p.allow.publish,
          subscribe: existing.allow.subscribe || p.allow.subscribe,
        };
        existing.disclose = { caller: existing.disclose.caller || p.disclose.caller, publisher: existing.disclose.publisher || p.disclose.publisher };
      } else {
        this.index.add({ uri, match, allow: { ...p.allow }, disclose: { ...p.disclose } });
      }
    }
  }

  private lookup(uri: string): PermissionEntry {
    let p = this.cache.get(uri);
    if (p === undefined) {
      p = this.index.best(uri) ?? NONE;
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(uri, p);
    }
    return p;
  }

  isAllowed(uri: string, action: Action): boolean {
    return this.lookup(uri).allow[action];
  }

  /** Whether the role's permission for `uri` forces disclosure of the caller or publisher. */
  shouldDisclose(uri: string, who: 'caller' | 'publisher'): boolean {
    return this.lookup(uri).disclose[who];
  }
}

/** Allows everything: the router's own sessions. */
export const TRUSTED_AUTHORIZER = {
  isAllowed: (_uri: string, _action: Action) => true,
  shouldDisclose: (_uri: string, _who: 'caller' | 'publisher') => false,
};

export type Authorizer = Pick<RoleAuthorizer, 'isAllowed' | 'shouldDisclose'>;
