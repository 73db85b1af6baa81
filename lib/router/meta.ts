/**
 * The WAMP meta API: `wamp.session.*`, `wamp.registration.*` and `wamp.subscription.*`
 * procedures, answered by the router itself, in crossbar's shapes.
 */
import { numberValue, isWampFloat } from '../wamp/float.js';
import type { Registration } from './dealer.js';
import { isDict, type Dict, type MatchPolicy } from './messages.js';
import type { Realm } from './realm.js';
import type { Session } from './session.js';
import type { Subscription } from './broker.js';
import { WAMP_ERRORS } from '../errors.js';

export type MetaResult = { args?: unknown[]; kwargs?: Dict; error?: string };

class InvalidArgument extends Error {}

function idArg(args: unknown[], i: number, what: string): number {
  const v = args[i];
  const n = isWampFloat(v) ? numberValue(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new InvalidArgument(`${what} must be an integer ID`);
  return n;
}

function uriArg(args: unknown[], i: number, what: string): string {
  const v = args[i];
  if (typeof v !== 'string') throw new InvalidArgument(`${what} must be a URI string`);
  return v;
}

function rolesFilter(args: unknown[]): Set<string> | undefined {
  const v = args[0];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new InvalidArgument('filter_authroles must be a list of role names');
  return new Set(v.filter((x): x is string => typeof x === 'string'));
}

function matchOption(args: unknown[], kwargs: Dict): MatchPolicy {
  const options = isDict(args[1]) ? args[1] : kwargs;
  const m = options['match'];
  if (m === undefined || m === null) return 'exact';
  if (m === 'exact' || m === 'prefix' || m === 'wildcard') return m;
  throw new InvalidArgument(`invalid match policy ${JSON.stringify(m)}`);
}

function listByPolicy(entries: { exact: { id: number }[]; prefix: { id: number }[]; wildcard: { id: number }[] }): Dict {
  return { exact: entries.exact.map((e) => e.id), prefix: entries.prefix.map((e) => e.id), wildcard: entries.wildcard.map((e) => e.id) };
}

function publicSessions(realm: Realm, roles: Set<string> | undefined): Session[] {
  const out: Session[] = [];
  for (const s of realm.sessions.values()) {
    if (s.isInternal || !s.isOpen) continue;
    if (roles !== undefined && !roles.has(s.identity.authrole)) continue;
    out.push(s);
  }
  return out;
}

function noSuch(error: string, what: string): MetaResult {
  return { error, args: [what] };
}

/** Runs a meta procedure; undefined when `procedure` is not one. */
export function callMetaProcedure(realm: Realm, caller: Session, procedure: string, args: unknown[], kwargs: Dict): MetaResult | undefined {
  try {
    return dispatch(realm, caller, procedure, args, kwargs);
  } catch (e) {
    if (e instanceof InvalidArgument) return { error: WAMP_ERRORS.INVALID_ARGUMENT, args: [e.message] };
    throw e;
  }
}

function dispatch(realm: Realm, caller: Session, procedure: string, args: unknown[], kwargs: Dict): MetaResult | undefined {
  const broker = realm.broker;
  const dealer = realm.dealer;
  switch (procedure) {
    case 'wamp.session.count':
      return { args: [publicSessions(realm, rolesFilter(args)).length] };
    case 'wamp.session.list':
      return { args: [publicSessions(realm, rolesFilter(args)).map((s) => s.id)] };
    case 'wamp.session.get': {
      const id = idArg(args, 0, 'session');
      const s = realm.sessions.get(id);
      if (s === undefined || s.isInternal || !s.isOpen) return noSuch(WAMP_ERRORS.NO_SUCH_SESSION, `no session with ID ${id} exists on this router`);
      return { args: [s.details()] };
    }
    case 'wamp.session.kill': {
      const id = idArg(args, 0, 'session');
      const s = realm.sessions.get(id);
      if (s === undefined || s.isInternal || !s.isOpen) return noSuch(WAMP_ERRORS.NO_SUCH_SESSION, `no session with ID ${id} exists on this router`);
      if (s === caller) throw new InvalidArgument('a session cannot kill itself');
      const reason = typeof kwargs['reason'] === 'string' ? kwargs['reason'] : 'wamp.close.killed';
      const message = typeof kwargs['message'] === 'string' ? kwargs['message'] : undefined;
      realm.kill(s, reason, message);
      return {};
    }
    case 'wamp.registration.list':
      return { args: [listByPolicy(dealer.index.entries())] };
    case 'wamp.registration.lookup': {
      const r = dealer.index.get(uriArg(args, 0, 'procedure'), matchOption(args, kwargs));
      return { args: [r === undefined ? null : r.id] };
    }
    case 'wamp.registration.match': {
      const r = dealer.index.best(uriArg(args, 0, 'procedure'));
      return { args: [r === undefined ? null : r.id] };
    }
    case 'wamp.registration.get': {
      const r = registration(realm, idArg(args, 0, 'registration'));
      return r ? { args: [r.info()] } : noSuch(WAMP_ERRORS.NO_SUCH_REGISTRATION, `no registration with ID ${String(args[0])} exists on this dealer`);
    }
    case 'wamp.registration.list_callees': {
      const r = registration(realm, idArg(args, 0, 'registration'));
      return r ? { args: [r.callees.map((s) => s.id)] } : noSuch(WAMP_ERRORS.NO_SUCH_REGISTRATION, `no registration with ID ${String(args[0])} exists on this dealer`);
    }
    case 'wamp.registration.count_callees': {
      const r = registration(realm, idArg(args, 0, 'registration'));
      return r ? { args: [r.callees.length] } : noSuch(WAMP_ERRORS.NO_SUCH_REGISTRATION, `no registration with ID ${String(args[0])} exists on this dealer`);
    }
    case 'wamp.subscription.list':
      return { args: [listByPolicy(broker.index.entries())] };
    case 'wamp.subscription.lookup': {
      const s = broker.index.get(uriArg(args, 0, 'topic'), matchOption(args, kwargs));
      return { args: [s === undefined ? null : s.id] };
    }
    case 'wamp.subscription.match': {
      const out: Subscription[] = [];
      broker.index.collect(uriArg(args, 0, 'topic'), out);
      return { args: [out.length === 0 ? null : out.map((s) => s.id)] };
    }
    case 'wamp.subscription.get': {
      const s = broker.byId.get(idArg(args, 0, 'subscription'));
      return s ? { args: [s.info()] } : noSuch(WAMP_ERRORS.NO_SUCH_SUBSCRIPTION, `no subscription with ID ${String(args[0])} exists on this broker`);
    }
    case 'wamp.subscription.list_subscribers': {
      const s = broker.byId.get(idArg(args, 0, 'subscription'));
      return s ? { args: [[...s.subscribers].map((x) => x.id)] } : noSuch(WAMP_ERRORS.NO_SUCH_SUBSCRIPTION, `no subscription with ID ${String(args[0])} exists on this broker`);
    }
    case 'wamp.subscription.count_subscribers': {
      const s = broker.byId.get(idArg(args, 0, 'subscription'));
      return s ? { args: [s.subscribers.size] } : noSuch(WAMP_ERRORS.NO_SUCH_SUBSCRIPTION, `no subscription with ID ${String(args[0])} exists on this broker`);
    }
    default:
      return undefined;
  }
}

function registration(realm: Realm, id: number): Registration | undefined {
  return realm.dealer.byId.get(id);
}
