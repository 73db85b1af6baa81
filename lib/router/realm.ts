import type { Logger } from '../log.js';
import { RoleAuthorizer, isTemplatedRole } from './authorizer.js';
import { Broker, type Subscription } from './broker.js';
import type { RealmConfig, Role as RoleConfig } from './config.js';
import { Dealer, type Registration } from './dealer.js';
import type { Dict } from './messages.js';
import { callMetaProcedure } from './meta.js';
import { Payload } from './payload.js';
import type { Session } from './session.js';
import type { RouterCounters } from './router-metrics.js';

/** Authorizers kept per authid of a templated role (each session of one authid shares one). */
const TEMPLATED_CACHE_LIMIT = 10_000;

/** One realm: its sessions, broker, dealer, roles, and the meta events about them. */
export class Realm {
  readonly name: string;
  readonly sessions = new Map<number, Session>();
  readonly broker: Broker;
  readonly dealer: Dealer;
  private readonly authorizers = new Map<string, RoleAuthorizer>();
  /** roles whose permissions are templated on the authid, and their authorizers by authid */
  private readonly templated = new Map<string, { role: RoleConfig; byAuthid: Map<string, RoleAuthorizer> }>();

  constructor(
    config: RealmConfig,
    private readonly logger: Logger,
    /** closes a session from the router side (wamp.session.kill) */
    readonly kill: (session: Session, reason: string, message: string | undefined) => void,
    counters: RouterCounters,
  ) {
    this.name = config.name;
    for (const role of config.roles) {
      if (isTemplatedRole(role)) this.templated.set(role.name, { role, byAuthid: new Map() });
      this.authorizers.set(role.name, new RoleAuthorizer(role));
    }
    this.broker = new Broker({
      subscriptionCreated: (s, sub) => this.metaEvent('wamp.subscription.on_create', sub.uri, () => [s.id, sub.info()]),
      subscribed: (s, sub) => this.metaEvent('wamp.subscription.on_subscribe', sub.uri, () => [s.id, sub.id]),
      unsubscribed: (s, sub) => this.metaEvent('wamp.subscription.on_unsubscribe', sub.uri, () => [s.id, sub.id]),
      subscriptionDeleted: (s, sub) => this.metaEvent('wamp.subscription.on_delete', sub.uri, () => [s.id, sub.id]),
    });
    this.dealer = new Dealer({
      callAnswered: (seconds) => counters.observeCall(seconds),
      callMeta: (s, procedure, args, kwargs) => callMetaProcedure(this, s, procedure, args, kwargs),
      registrationCreated: (s, reg) => this.metaEvent('wamp.registration.on_create', reg.uri, () => [s.id, reg.info()]),
      registered: (s, reg) => this.metaEvent('wamp.registration.on_register', reg.uri, () => [s.id, reg.id]),
      unregistered: (s, reg) => this.metaEvent('wamp.registration.on_unregister', reg.uri, () => [s.id, reg.id]),
      registrationDeleted: (s, reg) => this.metaEvent('wamp.registration.on_delete', reg.uri, () => [s.id, reg.id]),
    });
  }

  hasRole(role: string): boolean {
    return this.authorizers.has(role);
  }

  /** The authorizer of a session with this role and authid (its own for a role templated on `{authid}`). */
  authorizerFor(role: string, authid: string): RoleAuthorizer | undefined {
    const t = this.templated.get(role);
    if (t === undefined) return this.authorizers.get(role);
    let a = t.byAuthid.get(authid);
    if (a === undefined) {
      if (t.byAuthid.size >= TEMPLATED_CACHE_LIMIT) t.byAuthid.clear();
      a = new RoleAuthorizer(t.role, authid);
      t.byAuthid.set(authid, a);
    }
    return a;
  }

  /** Adds an established session and announces it (wamp.session.on_join). */
  join(session: Session): void {
    this.sessions.set(session.id, session);
    if (session.isInternal) return;
    this.logger.debug({ session: session.id, realm: this.name, authid: session.identity.authid, authrole: session.identity.authrole }, 'session joined');
    this.metaEvent('wamp.session.on_join', '', () => [session.details()]);
  }

  /** Removes a session that is closing or gone: cleans up subscriptions, registrations and calls. */
  leave(session: Session): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.broker.detach(session);
    this.dealer.detach(session);
    if (session.isInternal) return;
    this.logger.debug({ session: session.id, realm: this.name }, 'session left');
    this.metaEvent('wamp.session.on_leave', '', () => [session.id, session.identity.authid, session.identity.authrole]);
  }

  /** Publishes a meta event when anyone listens (never about wamp.* URIs themselves). */
  private metaEvent(topic: string, aboutUri: string, args: () => unknown[], kwargs?: Dict): void {
    if (aboutUri.startsWith('wamp.')) return;
    if (!this.broker.hasSubscribers(topic)) return;
    this.broker.publish(undefined, 0, {}, topic, Payload.of(args(), kwargs));
  }
}

export type { Registration, Subscription };
