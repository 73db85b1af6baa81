import { uniqueRandomId, randomId } from './ids.js';
import { MSG, isValidPatternUri, isValidUri, parseMatch, type Dict, type MatchPolicy } from './messages.js';
import type { Payload } from './payload.js';
import { SharedFrames, sendError, type Session } from './session.js';
import { UriIndex } from './uri-index.js';
import { WAMP_ERRORS } from '../errors.js';

/** One subscription: shared by every session subscribed to the same (uri, match). */
export class Subscription {
  readonly subscribers = new Set<Session>();
  constructor(
    readonly id: number,
    readonly uri: string,
    readonly match: MatchPolicy,
    readonly created: string,
  ) {}

  info(): Dict {
    return { id: this.id, created: this.created, uri: this.uri, match: this.match };
  }
}

/** Hooks the realm gives the broker for meta events. */
export interface BrokerEvents {
  subscriptionCreated(session: Session, sub: Subscription): void;
  subscribed(session: Session, sub: Subscription): void;
  unsubscribed(session: Session, sub: Subscription): void;
  subscriptionDeleted(session: Session, sub: Subscription): void;
}

/** EVENT details of an undisclosed publisher on an exact subscription (never modified). */
const NO_DETAILS: Dict = Object.freeze({});

/** EVENT details plus `topic` (no object spread: this runs once per pattern match). */
function withTopic(details: Dict, topic: string): Dict {
  if (details['publisher'] === undefined) return { topic };
  return {
    publisher: details['publisher'],
    publisher_authid: details['publisher_authid'],
    publisher_authrole: details['publisher_authrole'],
    topic,
  };
}

function idList(v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is number => typeof x === 'number');
}

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is string => typeof x === 'string');
}

export class Broker {
  readonly index = new UriIndex<Subscription>();
  readonly byId = new Map<number, Subscription>();

  constructor(private readonly events: BrokerEvents) {}

  subscribe(session: Session, request: number, options: Dict, topic: string): void {
    const match = parseMatch(options);
    if (match === undefined) {
      sendError(session, MSG.SUBSCRIBE, request, WAMP_ERRORS.INVALID_ARGUMENT, `invalid match policy ${JSON.stringify(options['match'])}`);
      return;
    }
    if (!isValidPatternUri(topic, match)) {
      sendError(session, MSG.SUBSCRIBE, request, WAMP_ERRORS.INVALID_URI, `subscribe for invalid topic URI '${topic}'`);
      return;
    }
    if (!session.authorizer!.isAllowed(topic, 'subscribe')) {
      sendError(session, MSG.SUBSCRIBE, request, WAMP_ERRORS.NOT_AUTHORIZED, `session is not authorized to subscribe to topic '${topic}'`);
      return;
    }
    let sub = this.index.get(topic, match);
    let isNew = false;
    if (sub === undefined) {
      sub = new Subscription(uniqueRandomId(this.byId), topic, match, new Date().toISOString());
      this.index.add(sub);
      this.byId.set(sub.id, sub);
      isNew = true;
    }
    const wasSubscribed = sub.subscribers.has(session);
    sub.subscribers.add(session);
    session.subscriptions.add(sub);
    session.send([MSG.SUBSCRIBED, request, sub.id]);
    if (isNew) this.events.subscriptionCreated(session, sub);
    if (!wasSubscribed) this.events.subscribed(session, sub);
  }

  unsubscribe(session: Session, request: number, subscriptionId: number): void {
    const sub = this.byId.get(subscriptionId);
    if (sub === undefined || !sub.subscribers.has(session)) {
      sendError(session, MSG.UNSUBSCRIBE, request, WAMP_ERRORS.NO_SUCH_SUBSCRIPTION);
      return;
    }
    this.drop(session, sub);
    session.send([MSG.UNSUBSCRIBED, request]);
  }

  private drop(session: Session, sub: Subscription): void {
    sub.subscribers.delete(session);
    session.subscriptions.delete(sub);
    const isLast = sub.subscribers.size === 0;
    if (isLast) {
      this.index.remove(sub);
      this.byId.delete(sub.id);
    }
    this.events.unsubscribed(session, sub);
    if (isLast) this.events.subscriptionDeleted(session, sub);
  }

  /** Removes a leaving session from all its subscriptions. */
  detach(session: Session): void {
    for (const sub of [...session.subscriptions]) this.drop(session, sub);
  }

  /** Handles PUBLISH from `publisher` (undefined: the router itself, for meta events). */
  publish(publisher: Session | undefined, request: number, options: Dict, topic: string, payload: Payload): void {
    const shouldAcknowledge = publisher !== undefined && options['acknowledge'] === true;
    if (publisher !== undefined) {
      if (!isValidUri(topic)) {
        if (shouldAcknowledge) sendError(publisher, MSG.PUBLISH, request, WAMP_ERRORS.INVALID_URI, `publish with invalid topic URI '${topic}'`);
        return;
      }
      if (topic.startsWith('wamp.')) {
        if (shouldAcknowledge) sendError(publisher, MSG.PUBLISH, request, WAMP_ERRORS.INVALID_URI, `publish with restricted topic URI '${topic}'`);
        return;
      }
      if (!publisher.authorizer!.isAllowed(topic, 'publish')) {
        if (shouldAcknowledge) sendError(publisher, MSG.PUBLISH, request, WAMP_ERRORS.NOT_AUTHORIZED, `session not authorized to publish to topic '${topic}'`);
        return;
      }
    }
    const publicationId = randomId();
    const matches: Subscription[] = [];
    this.index.collect(topic, matches);
    if (matches.length > 0) this.deliver(publisher, options, topic, payload, publicationId, matches);
    if (shouldAcknowledge) publisher.send([MSG.PUBLISHED, request, publicationId]);
  }

  private deliver(publisher: Session | undefined, options: Dict, topic: string, payload: Payload, publicationId: number, matches: Subscription[]): void {
    // receiver filters (publisher exclusion, black/white listing)
    const skipSelf = publisher !== undefined && options['exclude_me'] !== false ? publisher : undefined;
    const exclude = idList(options['exclude']);
    const excludeAuthid = stringList(options['exclude_authid']);
    const excludeAuthrole = stringList(options['exclude_authrole']);
    const eligible = idList(options['eligible']);
    const eligibleAuthid = stringList(options['eligible_authid']);
    const eligibleAuthrole = stringList(options['eligible_authrole']);
    const hasFilters = exclude !== undefined || excludeAuthid !== undefined || excludeAuthrole !== undefined || eligible !== undefined || eligibleAuthid !== undefined || eligibleAuthrole !== undefined;

    let details: Dict = NO_DETAILS;
    if (publisher !== undefined && (options['disclose_me'] === true || publisher.authorizer!.shouldDisclose(topic, 'publisher'))) {
      details = { publisher: publisher.id, publisher_authid: publisher.identity.authid, publisher_authrole: publisher.identity.authrole };
    }

    for (let i = 0; i < matches.length; i++) {
      const sub = matches[i]!;
      const head = [MSG.EVENT, sub.id, publicationId, sub.match === 'exact' ? details : withTopic(details, topic)];
      // encoded at most once per serializer for all of this subscription's receivers
      const shared = new SharedFrames();
      for (const s of sub.subscribers) {
        if (s === skipSelf || !s.isOpen) continue;
        if (hasFilters) {
          if (exclude !== undefined && exclude.includes(s.id)) continue;
          if (excludeAuthid !== undefined && excludeAuthid.includes(s.identity.authid)) continue;
          if (excludeAuthrole !== undefined && excludeAuthrole.includes(s.identity.authrole)) continue;
          if (eligible !== undefined && !eligible.includes(s.id)) continue;
          if (eligibleAuthid !== undefined && !eligibleAuthid.includes(s.identity.authid)) continue;
          if (eligibleAuthrole !== undefined && !eligibleAuthrole.includes(s.identity.authrole)) continue;
        }
        s.send(head, payload, shared);
      }
    }
  }

  /** Whether any subscription matches `topic`: lets meta events skip building payloads. */
  hasSubscribers(topic: string): boolean {
    if (this.index.size === 0) return false;
    const out: Subscription[] = [];
    this.index.collect(topic, out);
    return out.length > 0;
  }
}
