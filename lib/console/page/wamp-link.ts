/**
 * The page's one WAMP connection (autobahn-js's browser build): JSON over the router's `/ws`,
 * reconnected with backoff (1 s doubling to 16 s) whatever ended it, a GOODBYE from a restarting
 * router included, and reported as a status the status bar shows.
 */
import autobahnBrowser from 'autobahn-browser';
import type { AutobahnConnection, AutobahnModule, AutobahnSession } from '../../wamp/autobahn.js';

const autobahn = autobahnBrowser as unknown as AutobahnModule;
autobahn.log.warn = () => {};

export type LinkState = { kind: 'connecting'; attempt: number } | { kind: 'open'; sessionId: number } | { kind: 'retrying'; reason: string; retryInS: number; attempt: number };

export interface WampLinkOptions {
  url: string;
  realm: string;
  authid?: string;
  ticket?: string;
  onState: (state: LinkState) => void;
  /** every join, first and after each reconnect */
  onJoin: (session: AutobahnSession) => void;
}

const FIRST_RETRY_S = 1;
const MAX_RETRY_S = 16;

export class WampLink {
  private connection: AutobahnConnection | null = null;
  private session: AutobahnSession | null = null;
  private retryS = FIRST_RETRY_S;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private isClosed = false;

  constructor(private readonly options: WampLinkOptions) {}

  get current(): AutobahnSession | null {
    return this.session !== null && this.session.isOpen ? this.session : null;
  }

  open(): void {
    this.attempt++;
    this.options.onState({ kind: 'connecting', attempt: this.attempt });
    const o = this.options;
    const connection = new autobahn.Connection({
      url: o.url,
      realm: o.realm,
      max_retries: 0,
      retry_if_unreachable: false,
      ...(o.authid !== undefined && o.ticket !== undefined ? { authid: o.authid, authmethods: ['ticket'], onchallenge: () => o.ticket as string } : {}),
    });
    this.connection = connection;
    connection.onopen = (session) => {
      this.session = session;
      this.retryS = FIRST_RETRY_S;
      this.attempt = 0;
      o.onState({ kind: 'open', sessionId: session.id });
      o.onJoin(session);
    };
    connection.onclose = (reason, details) => {
      this.session = null;
      if (this.isClosed) return true;
      const why = details.message ?? details.reason ?? reason;
      const retryInS = this.retryS;
      this.retryS = Math.min(MAX_RETRY_S, this.retryS * 2);
      o.onState({ kind: 'retrying', reason: why, retryInS, attempt: this.attempt });
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.open(), retryInS * 1000);
      return true;
    };
    connection.open();
  }

  close(): void {
    this.isClosed = true;
    clearTimeout(this.timer);
    this.connection?.close();
  }
}

/** The text of a WAMP error (autobahn's `{error, args, kwargs}`), or of anything thrown. */
export function errorText(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'error' in e) {
    const err = e as { error: string; args?: unknown[]; kwargs?: Record<string, unknown> };
    const first = err.args?.[0];
    return typeof first === 'string' && first !== '' ? `${err.error}: ${first}` : err.error;
  }
  return e instanceof Error ? e.message : String(e);
}
