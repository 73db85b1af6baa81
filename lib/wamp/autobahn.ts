/**
 * Typed view of the parts of autobahn-js this project uses. autobahn ships no types and the
 * DefinitelyTyped package describes an older API, so the surface is declared here once.
 */
import autobahnModule from 'autobahn';
import { ensureGlobalWebSocket } from './websocket.js';

ensureGlobalWebSocket();

export interface CallDetails {
  caller?: number;
  caller_authid?: string;
  caller_authrole?: string;
  procedure?: string;
  progress?: (args?: unknown[], kwargs?: Record<string, unknown>) => void;
}

export interface EventDetails {
  publication?: number;
  publisher?: number;
  /** with publisher disclosure */
  publisher_authid?: string;
  publisher_authrole?: string;
  topic?: string;
}

export type ProcedureHandler = (
  args: unknown[] | undefined,
  kwargs: Record<string, unknown> | undefined,
  details: CallDetails,
) => unknown;

export type EventHandler = (args: unknown[] | undefined, kwargs: Record<string, unknown> | undefined, details: EventDetails) => void;

export interface AutobahnRegistration {
  id: number;
  procedure: string;
}

export interface AutobahnSubscription {
  id: number;
  topic: string;
  active: boolean;
}

export interface AutobahnPublication {
  id: number;
}

export interface CallPromise<T> extends Promise<T> {
  cancel?(options?: { mode?: 'skip' | 'kill' | 'killnowait' }): void;
}

export interface AutobahnSession {
  readonly id: number;
  readonly isOpen: boolean;
  readonly realm: string;
  call<T = unknown>(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): CallPromise<T>;
  publish(topic: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<AutobahnPublication> | undefined;
  subscribe(topic: string, handler: EventHandler, options?: Record<string, unknown>): Promise<AutobahnSubscription>;
  unsubscribe(subscription: AutobahnSubscription): Promise<unknown>;
  register(procedure: string, handler: ProcedureHandler, options?: Record<string, unknown>): Promise<AutobahnRegistration>;
  unregister(registration: AutobahnRegistration): Promise<unknown>;
  leave(reason?: string, message?: string): void;
}

export interface AutobahnCloseDetails {
  reason?: string;
  message?: string;
  retry_delay?: number;
  retry_count?: number;
  will_retry?: boolean;
}

export interface AutobahnSerializer {
  SERIALIZER_ID: string;
  BINARY: boolean;
  serialize(obj: unknown): string | Uint8Array;
  unserialize(payload: string | Uint8Array): unknown;
}

export interface AutobahnConnectionOptions {
  url: string;
  realm: string;
  authid?: string;
  authmethods?: string[];
  onchallenge?: (session: AutobahnSession, method: string, extra: Record<string, unknown>) => string;
  serializers?: AutobahnSerializer[];
  protocols?: string[];
  max_retries?: number;
  initial_retry_delay?: number;
  max_retry_delay?: number;
  retry_delay_growth?: number;
  retry_delay_jitter?: number;
  retry_if_unreachable?: boolean;
  auto_ping_interval?: number;
}

export interface AutobahnConnection {
  onopen: ((session: AutobahnSession, details: unknown) => void) | null;
  onclose: ((reason: string, details: AutobahnCloseDetails) => boolean | void) | null;
  open(): void;
  close(reason?: string, message?: string): void;
  readonly isOpen: boolean;
  readonly isConnected: boolean;
}

export interface AutobahnErrorInstance {
  error: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

export interface AutobahnModule {
  Connection: new (options: AutobahnConnectionOptions) => AutobahnConnection;
  Error: new (error: string, args?: unknown[], kwargs?: Record<string, unknown>) => AutobahnErrorInstance;
  auth_cra: { sign(secret: string, challenge: string): string; derive_key(secret: string, salt: string, iterations?: number, keylen?: number): string };
  log: { debug: (...a: unknown[]) => void; warn: (...a: unknown[]) => void };
  version: string;
}

export const autobahn = autobahnModule as unknown as AutobahnModule;

// autobahn logs every close and every handler exception through console.warn; the project logs
// through pino instead.
autobahn.log.warn = () => {};

export function isAutobahnError(e: unknown): e is AutobahnErrorInstance {
  return e instanceof autobahn.Error;
}
