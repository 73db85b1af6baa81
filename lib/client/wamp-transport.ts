/**
 * Calls over a WAMP session (autobahn-js through WampConnection). A one-shot client: no
 * reconnect; when the session is lost, every pending call fails with RouterUnavailableError
 * (autobahn itself would leave them pending forever). A call that passes its `timeoutMs` is
 * cancelled with mode `kill` (the router interrupts the callee) and fails with OpTimeoutError.
 * Results are returned as plain values: a float the codec decoded as WampFloat becomes a number.
 */
import { errorFromWamp, OpTimeoutError, RouterUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { isAutobahnError, type AutobahnSerializer } from '../wamp/autobahn.js';
import { WampConnection, type WampAuth } from '../wamp/connection.js';
import { isWampFloat } from '../wamp/float.js';
import { jsonSerializer } from '../wamp/serializers.js';
import type { ClientTransport, TransportCallOptions } from './client-transport.js';

export interface WampTransportOptions {
  /** Router WebSocket URL, e.g. `ws://localhost:8001/ws`. */
  url: string;
  realm: string;
  auth?: WampAuth;
  /** Default: the project's JSON serializer (a WampFloat parameter travels as `1.0`). */
  serializers?: AutobahnSerializer[];
  logger?: Logger;
}

interface PendingCall {
  reject(error: Error): void;
}

export class WampTransport implements ClientTransport {
  readonly kind = 'wamp' as const;
  private readonly pending = new Set<PendingCall>();
  private isClosed = false;

  private constructor(
    private readonly connection: WampConnection,
    private readonly logger: Logger,
  ) {
    connection.on('leave', (reason) => this.failPending(reason));
    connection.on('closed', (reason) => this.failPending(reason));
  }

  /** Joins the realm; rejects with RouterUnavailableError when the router cannot be reached. */
  static async open(options: WampTransportOptions): Promise<WampTransport> {
    const logger = (options.logger ?? silentLogger()).child({ component: 'wamp-client', url: options.url, realm: options.realm });
    const connection = new WampConnection({
      url: options.url,
      realm: options.realm,
      shouldReconnect: false,
      shouldRetryIfUnreachable: false,
      logger,
      ...(options.auth ? { auth: options.auth } : {}),
      serializers: options.serializers ?? [jsonSerializer],
    });
    await connection.open();
    return new WampTransport(connection, logger);
  }

  call(procedure: string, args: unknown[], kwargs: Record<string, unknown>, options: TransportCallOptions = {}): Promise<unknown> {
    const session = this.connection.session;
    if (!session || this.isClosed) {
      return Promise.reject(
        new RouterUnavailableError(`not connected to ${this.connection.options.url}`, { details: { url: this.connection.options.url, procedure } }),
      );
    }
    this.logger.debug({ procedure }, 'call');
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const entry: PendingCall = {
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const settle = () => {
        if (timer !== undefined) clearTimeout(timer);
        this.pending.delete(entry);
      };
      this.pending.add(entry);
      const promise = session.call(procedure, args, kwargs);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (!this.pending.has(entry)) return;
          entry.reject(
            new OpTimeoutError(`call to ${procedure} timed out after ${options.timeoutMs} ms`, { details: { procedure, timeoutMs: options.timeoutMs } }),
          );
          try {
            promise.cancel?.({ mode: 'kill' });
          } catch {
            // the session closed meanwhile: nothing to cancel
          }
        }, options.timeoutMs);
      }
      promise.then(
        (result) => {
          if (!this.pending.has(entry)) return;
          settle();
          resolve(plainValue(result));
        },
        (e: unknown) => {
          if (!this.pending.has(entry)) return;
          settle();
          reject(isAutobahnError(e) ? errorFromWamp(e.error, plainValue(e.args ?? []) as unknown[], plainValue(e.kwargs ?? {}) as Record<string, unknown>) : toRouterError(e, procedure));
        },
      );
    });
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.failPending('wamp.close.normal');
    await this.connection.close();
  }

  private failPending(reason: string): void {
    for (const entry of [...this.pending]) {
      entry.reject(new RouterUnavailableError(`connection to ${this.connection.options.url} lost during the call (${reason})`, { details: { reason } }));
    }
  }
}

function toRouterError(e: unknown, procedure: string): RouterUnavailableError {
  return new RouterUnavailableError(`call to ${procedure} failed: ${e instanceof Error ? e.message : String(e)}`, { details: { procedure }, cause: e });
}

/** The value with every WampFloat replaced by its number. */
function plainValue(v: unknown): unknown {
  if (isWampFloat(v)) return v.value;
  if (Array.isArray(v)) return v.map(plainValue);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainValue(x);
    return out;
  }
  return v;
}
