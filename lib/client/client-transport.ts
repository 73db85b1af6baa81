/**
 * How the client reaches agents: one RPC call, answered with the single result value (the
 * callee's `args[0]`, ocs-protocol §1.4) or rejected with a typed OcsError
 * (errors.ts: `wamp.error.no_such_procedure` → AgentUnavailableError, `wamp.error.canceled` and
 * a client-side deadline → OpTimeoutError, an unreachable router → RouterUnavailableError).
 */
export type TransportKind = 'wamp' | 'http';

export interface TransportCallOptions {
  /** Client-side deadline; when it passes the call is abandoned with OpTimeoutError. */
  timeoutMs?: number;
}

export interface ClientTransport {
  readonly kind: TransportKind;
  call(procedure: string, args: unknown[], kwargs: Record<string, unknown>, options?: TransportCallOptions): Promise<unknown>;
  close(): Promise<void>;
}
