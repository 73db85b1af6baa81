import { EventEmitter } from 'node:events';
import { autobahn, type AutobahnConnection, type AutobahnConnectionOptions, type AutobahnSerializer, type AutobahnSession } from './autobahn.js';
import { RouterUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

export interface WampAuth {
  authid: string;
  /** `ticket` sends the secret as a ticket; `wampcra` signs the router's challenge with it. */
  method: 'ticket' | 'wampcra';
  secret: string;
}

export interface WampConnectionOptions {
  url: string;
  realm: string;
  auth?: WampAuth;
  /** Serializers offered, in order of preference. Default: autobahn's JSON then msgpack. */
  serializers?: AutobahnSerializer[];
  /** Keep reconnecting after the first join (agents do; one-shot clients do not). */
  shouldReconnect?: boolean;
  /** Retry when the first connection attempt fails. */
  shouldRetryIfUnreachable?: boolean;
  initialRetryDelayS?: number;
  maxRetryDelayS?: number;
  maxRetries?: number;
  logger?: Logger;
}

export interface WampConnectionEvents {
  join: [session: AutobahnSession, isFirstJoin: boolean];
  leave: [reason: string, details: { willRetry: boolean; retryDelayS?: number }];
  closed: [reason: string];
  /** An attempt that never joined (refused, unreachable); `willRetry` says whether another follows. */
  unreachable: [reason: string, details: { willRetry: boolean; attempt: number }];
}

/**
 * One WAMP connection with autobahn's retry loop, reported as events. `open()` resolves at
 * the first join; later joins (after a reconnect) are emitted as `join` with isFirstJoin false.
 */
export class WampConnection extends EventEmitter<WampConnectionEvents> {
  private readonly connection: AutobahnConnection;
  private readonly logger: Logger;
  private currentSession: AutobahnSession | undefined;
  private hasJoined = false;
  private isClosing = false;
  private retryDelayS: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryCount = 0;

  constructor(readonly options: WampConnectionOptions) {
    super();
    this.logger = (options.logger ?? silentLogger()).child({ component: 'wamp', url: options.url, realm: options.realm });
    this.retryDelayS = options.initialRetryDelayS ?? 1;
    // Reconnects are ours, not autobahn's: autobahn stops retrying after the router says GOODBYE
    // (e.g. `wamp.close.system_shutdown` when it restarts), and an agent must come back then too.
    const opts: AutobahnConnectionOptions = {
      url: options.url,
      realm: options.realm,
      max_retries: 0,
      retry_if_unreachable: false,
    };
    if (options.serializers) opts.serializers = options.serializers;
    const auth = options.auth;
    if (auth) {
      opts.authid = auth.authid;
      opts.authmethods = [auth.method];
      opts.onchallenge = (_session, method, extra) => {
        if (method === 'ticket') return auth.secret;
        if (method === 'wampcra') {
          let key = auth.secret;
          if (typeof extra['salt'] === 'string') {
            key = autobahn.auth_cra.derive_key(auth.secret, extra['salt'], extra['iterations'] as number, extra['keylen'] as number);
          }
          return autobahn.auth_cra.sign(key, extra['challenge'] as string);
        }
        throw new Error(`unsupported auth method ${method}`);
      };
    }
    this.connection = new autobahn.Connection(opts);
  }

  get session(): AutobahnSession | undefined {
    return this.currentSession?.isOpen ? this.currentSession : undefined;
  }

  /** Opens the connection; resolves with the session at the first join. */
  open(): Promise<AutobahnSession> {
    return new Promise((resolve, reject) => {
      this.connection.onopen = (session) => {
        const isFirstJoin = !this.hasJoined;
        this.hasJoined = true;
        this.retryCount = 0;
        this.retryDelayS = this.options.initialRetryDelayS ?? 1;
        this.currentSession = session;
        this.logger.debug({ session: session.id }, 'joined');
        this.emit('join', session, isFirstJoin);
        if (isFirstJoin) resolve(session);
      };
      this.connection.onclose = (reason, details) => {
        const wasJoined = this.currentSession !== undefined;
        this.currentSession = undefined;
        const willRetry = !this.isClosing && this.shouldRetry(wasJoined);
        if (willRetry) {
          details = { ...details, will_retry: true, retry_delay: this.scheduleRetry() };
        }
        this.logger.debug({ reason, details }, 'connection closed');
        if (!this.hasJoined && !willRetry) {
          reject(
            new RouterUnavailableError(`cannot join realm ${this.options.realm} at ${this.options.url}: ${details.reason ?? reason}${details.message ? ` (${details.message})` : ''}`, {
              details: { url: this.options.url, realm: this.options.realm, reason: details.reason ?? reason },
            }),
          );
        }
        if (wasJoined) this.emit('leave', reason, { willRetry, retryDelayS: details.retry_delay });
        else this.emit('unreachable', details.reason ?? reason, { willRetry, attempt: this.retryCount });
        if (!willRetry) this.emit('closed', reason);
        return true;
      };
      this.connection.open();
    });
  }

  private shouldRetry(wasJoined: boolean): boolean {
    if (!(this.options.shouldReconnect ?? false)) return false;
    if (!this.hasJoined && !(this.options.shouldRetryIfUnreachable ?? true)) return false;
    const maxRetries = this.options.maxRetries ?? -1;
    return wasJoined || maxRetries < 0 || this.retryCount < maxRetries;
  }

  /** Schedules the next attempt with backoff (x1.5, capped, ±10% jitter); returns the delay in s. */
  private scheduleRetry(): number {
    this.retryCount++;
    const jitter = 1 + (Math.random() * 0.2 - 0.1);
    const delayS = Math.min(this.retryDelayS, this.options.maxRetryDelayS ?? 30) * jitter;
    this.retryDelayS = Math.min(this.retryDelayS * 1.5, this.options.maxRetryDelayS ?? 30);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.isClosing) return;
      try {
        this.connection.open();
      } catch (err) {
        this.logger.warn({ err }, 'reconnect attempt failed to start');
      }
    }, delayS * 1000);
    return delayS;
  }

  /** Leaves the realm and stops reconnecting. Resolves once the transport is closed. */
  close(reason = 'wamp.close.normal'): Promise<void> {
    this.isClosing = true;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.emit('closed', reason);
    }
    return new Promise((resolve) => {
      if (!this.connection.isConnected && !this.connection.isOpen) {
        try {
          this.connection.close(reason);
        } catch {
          // not open: nothing to close
        }
        resolve();
        return;
      }
      const timer = setTimeout(resolve, 2000);
      this.once('closed', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.connection.close(reason);
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
