/**
 * The router core: the session state machine (HELLO / CHALLENGE / AUTHENTICATE / WELCOME /
 * GOODBYE / ABORT) and the dispatch of established sessions' messages to their realm's broker
 * and dealer. Transport-agnostic: a transport opens sessions with a Peer and feeds messages in
 * (inbound.ts), each with its arguments as one Payload.
 */
import { RouterCounters } from './router-metrics.js';
import type { Logger } from '../log.js';
import { beginAuthentication, type AuthIdentity, type AuthOutcome } from './auth.js';
import { TRUSTED_AUTHORIZER, type Authorizer } from './authorizer.js';
import type { RouterConfig } from './config.js';
import { uniqueRandomId } from './ids.js';
import { CLOSE, MSG, ProtocolViolation, isDict, messageName, type Dict } from './messages.js';
import { Realm } from './realm.js';
import type { Inbound } from './inbound.js';
import { Session, type Peer } from './session.js';
import { WAMP_ERRORS } from '../errors.js';

/** Features announced in WELCOME: what the broker and dealer really implement. */
export const ROUTER_ROLES = {
  broker: {
    features: {
      pattern_based_subscription: true,
      publisher_exclusion: true,
      publisher_identification: true,
      subscriber_blackwhite_listing: true,
      session_meta_api: true,
      subscription_meta_api: true,
    },
  },
  dealer: {
    features: {
      call_canceling: true,
      call_timeout: true,
      caller_identification: true,
      pattern_based_registration: true,
      progressive_call_results: true,
      registration_meta_api: true,
      session_meta_api: true,
      shared_registration: true,
    },
  },
} as const;

const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL_ERROR = 1002;

export class Router {
  readonly realms = new Map<string, Realm>();
  /** the figures the metrics read (router-metrics.ts) */
  readonly counters = new RouterCounters();
  /** every session with a transport, joined or not */
  private readonly sessions = new Map<number, Session>();
  private isShuttingDown = false;

  constructor(
    readonly config: RouterConfig,
    private readonly logger: Logger,
  ) {
    for (const r of config.realms) {
      this.realms.set(r.name, new Realm(r, logger, (s, reason, message) => this.closeSession(s, reason, message), this.counters));
    }
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A transport connected: a session in state `new`, waiting for HELLO. */
  openSession(peer: Peer): Session {
    const session = new Session(uniqueRandomId(this.sessions), peer, this.counters);
    this.sessions.set(session.id, session);
    if (this.isShuttingDown) {
      peer.close(CLOSE_NORMAL, 'router shutting down');
      return session;
    }
    session.stateTimer = setTimeout(() => {
      session.stateTimer = undefined;
      if (session.state === 'new' || session.state === 'challenging') {
        this.logger.debug({ session: session.id }, 'handshake timed out');
        this.abort(session, WAMP_ERRORS.PROTOCOL_VIOLATION, 'no WAMP session established in time');
      }
    }, this.config.limits.handshake_timeout_ms);
    return session;
  }

  /** The router's own session on a realm (the HTTP bridge), with a role's permissions. */
  openInternalSession(realmName: string, identity: AuthIdentity, peer: Peer, isTrusted = false): Session {
    const realm = this.realms.get(realmName);
    if (realm === undefined) throw new Error(`no realm '${realmName}'`);
    const session = new Session(uniqueRandomId(this.sessions), peer, this.counters, true);
    this.sessions.set(session.id, session);
    session.identity = identity;
    session.realm = realm;
    const authorizer: Authorizer | undefined = isTrusted ? TRUSTED_AUTHORIZER : realm.authorizerFor(identity.authrole, identity.authid);
    if (authorizer === undefined) throw new Error(`no role '${identity.authrole}' on realm '${realmName}'`);
    session.authorizer = authorizer;
    session.state = 'established';
    realm.join(session);
    return session;
  }

  /** One message from a session's transport (inbound.ts). Any failure aborts that session only. */
  handleMessage(session: Session, msg: Inbound): void {
    if (session.state === 'closed') return;
    this.counters.countIn(msg.type);
    try {
      if (session.state === 'established') this.handleEstablished(session, msg);
      else this.handleHandshake(session, msg.type, msg.m);
    } catch (e) {
      this.handlerFailed(session, e);
    }
  }

  /** A message handler threw: that session is aborted (the router's own sessions get the error). */
  private handlerFailed(session: Session, e: unknown): void {
    if (session.isInternal) throw e;
    if (e instanceof ProtocolViolation) {
      this.logger.debug({ session: session.id, err: e }, 'protocol violation');
      this.protocolViolation(session, e.message);
    } else {
      this.logger.error({ session: session.id, err: e }, 'message handler failed');
      this.protocolViolation(session, `internal error while handling the message: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** A frame that could not be decoded, or a message that breaks the protocol. */
  protocolViolation(session: Session, message: string): void {
    this.abort(session, WAMP_ERRORS.PROTOCOL_VIOLATION, message, CLOSE_PROTOCOL_ERROR);
  }

  private handleEstablished(session: Session, { type, m, payload }: Inbound): void {
    const realm = session.realm!;
    switch (type) {
      case MSG.PUBLISH:
        realm.broker.publish(session, m[1] as number, m[2] as Dict, m[3] as string, payload);
        return;
      case MSG.CALL:
        realm.dealer.call(session, m[1] as number, m[2] as Dict, m[3] as string, payload);
        return;
      case MSG.YIELD:
        realm.dealer.yield(session, m[1] as number, m[2] as Dict, payload);
        return;
      case MSG.ERROR:
        if (m[1] !== MSG.INVOCATION) throw new ProtocolViolation(`ERROR for ${messageName(m[1] as number)} is not accepted from a client`);
        realm.dealer.calleeError(session, m[2] as number, m[3] as Dict, m[4] as string, payload);
        return;
      case MSG.SUBSCRIBE:
        realm.broker.subscribe(session, m[1] as number, m[2] as Dict, m[3] as string);
        return;
      case MSG.UNSUBSCRIBE:
        realm.broker.unsubscribe(session, m[1] as number, m[2] as number);
        return;
      case MSG.REGISTER:
        realm.dealer.register(session, m[1] as number, m[2] as Dict, m[3] as string);
        return;
      case MSG.UNREGISTER:
        realm.dealer.unregister(session, m[1] as number, m[2] as number);
        return;
      case MSG.CANCEL:
        realm.dealer.cancel(session, m[1] as number, m[2] as Dict);
        return;
      case MSG.GOODBYE:
        session.send([MSG.GOODBYE, {}, CLOSE.GOODBYE_AND_OUT]);
        this.endSession(session);
        session.peer.close(CLOSE_NORMAL, 'goodbye');
        return;
      case MSG.ABORT:
        this.endSession(session);
        session.peer.close(CLOSE_NORMAL, 'aborted');
        return;
      default:
        throw new ProtocolViolation(`unexpected ${messageName(type)} in an established session`);
    }
  }

  private handleHandshake(session: Session, type: number, m: readonly unknown[]): void {
    if (session.state === 'closing') {
      // router-initiated GOODBYE: wait for the answer, ignore the rest
      if (type === MSG.GOODBYE || type === MSG.ABORT) {
        this.endSession(session);
        session.peer.close(CLOSE_NORMAL, 'goodbye');
      }
      return;
    }
    if (type === MSG.ABORT) {
      this.endSession(session);
      session.peer.close(CLOSE_NORMAL, 'aborted');
      return;
    }
    if (session.state === 'new' && type === MSG.HELLO) {
      this.hello(session, m[1] as string, m[2] as Dict);
      return;
    }
    if (session.state === 'challenging' && type === MSG.AUTHENTICATE) {
      const verify = session.verifyAuth!;
      session.verifyAuth = undefined;
      const r = verify(m[1] as string) as AuthIdentity | { kind: 'refuse'; reason: string; message: string };
      if ('kind' in r) {
        this.logger.debug({ session: session.id, reason: r.reason }, 'authentication refused');
        this.counters.authFailures++;
        this.abort(session, r.reason, r.message);
      } else this.welcome(session, r);
      return;
    }
    throw new ProtocolViolation(`unexpected ${messageName(type)} before the session is established`);
  }

  private hello(session: Session, realmName: string, details: Dict): void {
    const realm = this.realms.get(realmName);
    if (realm === undefined) {
      this.abort(session, WAMP_ERRORS.NO_SUCH_REALM, `no realm "${realmName}" exists on this router`);
      return;
    }
    session.realm = realm;
    const roles = details['roles'];
    if (isDict(roles)) {
      const callee = roles['callee'];
      const features = isDict(callee) ? callee['features'] : undefined;
      session.isInterruptible = isDict(features) && features['call_canceling'] === true;
    }
    const outcome: AuthOutcome = beginAuthentication(this.config.auth, { realm: realmName, sessionId: session.id, hasRole: (r) => realm.hasRole(r) }, details);
    if (outcome.kind === 'welcome') {
      this.welcome(session, outcome.identity);
    } else if (outcome.kind === 'challenge') {
      session.state = 'challenging';
      session.verifyAuth = outcome.verify;
      session.send([MSG.CHALLENGE, outcome.method, outcome.extra]);
    } else {
      this.logger.debug({ session: session.id, reason: outcome.reason }, 'authentication refused');
      this.counters.authFailures++;
      this.abort(session, outcome.reason, outcome.message);
    }
  }

  private welcome(session: Session, identity: AuthIdentity): void {
    const realm = session.realm!;
    const authorizer = realm.authorizerFor(identity.authrole, identity.authid);
    if (authorizer === undefined) {
      this.abort(session, WAMP_ERRORS.NO_SUCH_ROLE, `role '${identity.authrole}' does not exist on realm '${realm.name}'`);
      return;
    }
    if (session.stateTimer !== undefined) {
      clearTimeout(session.stateTimer);
      session.stateTimer = undefined;
    }
    session.identity = identity;
    session.authorizer = authorizer;
    session.state = 'established';
    session.send([
      MSG.WELCOME,
      session.id,
      {
        realm: realm.name,
        authid: identity.authid,
        authrole: identity.authrole,
        authmethod: identity.authmethod,
        authprovider: identity.authprovider,
        roles: ROUTER_ROLES,
      },
    ]);
    realm.join(session);
  }

  /** Sends ABORT, ends the session and closes its transport. */
  abort(session: Session, reason: string, message: string, code = CLOSE_NORMAL): void {
    if (session.state === 'closed') return;
    session.send([MSG.ABORT, { message }, reason]);
    this.endSession(session);
    session.peer.close(code, reason.length <= 120 ? reason : 'abort');
  }

  /** Router-initiated close of an established session: GOODBYE, then wait for the answer. */
  closeSession(session: Session, reason: string, message?: string): void {
    if (session.state !== 'established') {
      if (session.state !== 'closed' && session.state !== 'closing') this.abort(session, reason, message ?? reason);
      return;
    }
    session.send([MSG.GOODBYE, message === undefined ? {} : { message }, reason]);
    session.realm?.leave(session);
    session.state = 'closing';
    session.stateTimer = setTimeout(() => {
      session.stateTimer = undefined;
      this.endSession(session);
      session.peer.close(CLOSE_NORMAL, 'goodbye timeout');
    }, Math.min(this.config.limits.handshake_timeout_ms, 2000));
  }

  /** The session is over (its transport may still be open): leaves its realm. */
  private endSession(session: Session): void {
    if (session.state === 'closed') return;
    session.state = 'closed';
    if (session.stateTimer !== undefined) {
      clearTimeout(session.stateTimer);
      session.stateTimer = undefined;
    }
    session.verifyAuth = undefined;
    session.realm?.leave(session);
  }

  /** The transport is gone. */
  transportClosed(session: Session): void {
    this.endSession(session);
    this.sessions.delete(session.id);
  }

  /** Closes every session with `wamp.close.system_shutdown`; resolves when all transports are gone or after `graceMs`. */
  async shutdown(graceMs = 1000): Promise<void> {
    this.isShuttingDown = true;
    for (const s of [...this.sessions.values()]) {
      if (s.isInternal) {
        this.endSession(s);
        this.sessions.delete(s.id);
      } else if (s.state === 'established') this.closeSession(s, CLOSE.SYSTEM_SHUTDOWN, 'the router is shutting down');
      else if (s.state !== 'closing') {
        this.endSession(s);
        s.peer.close(CLOSE_NORMAL, 'router shutting down');
      }
    }
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const s of [...this.sessions.values()]) {
      this.endSession(s);
      s.peer.close(CLOSE_NORMAL, 'router shut down');
      this.sessions.delete(s.id);
    }
  }
}
