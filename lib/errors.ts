/**
 * The error catalogue. Every public failure condition has one class here with a stable
 * SCREAMING_SNAKE code and a WAMP error URI. The callee boundary turns an OcsError into a
 * WAMP ERROR carrying `[message]` and `{code, details}`; the caller boundary rebuilds the
 * typed class from the URI (see `errorFromWamp`).
 */

export type ErrorDetails = Record<string, unknown>;

export interface OcsErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
}

export class OcsError extends Error {
  static readonly CODE: string = 'INTERNAL';
  static readonly URI: string = 'ocs.error.internal';
  static readonly RETRYABLE: boolean = false;

  readonly code: string;
  readonly uri: string;
  readonly details: ErrorDetails;
  readonly retryable: boolean;

  constructor(message: string, options: OcsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const ctor = this.constructor as typeof OcsError;
    this.name = ctor.name;
    this.code = ctor.CODE;
    this.uri = ctor.URI;
    this.retryable = ctor.RETRYABLE;
    this.details = options.details ?? {};
  }

  /** The JSON-safe form sent as ERROR kwargs. */
  toWire(): { code: string; details: ErrorDetails } {
    return { code: this.code, details: this.details };
  }
}

export class InvalidParamsError extends OcsError {
  static override readonly CODE = 'INVALID_PARAMS';
  static override readonly URI = 'ocs.error.invalid_params';
}

export class OpNotFoundError extends OcsError {
  static override readonly CODE = 'OP_NOT_FOUND';
  static override readonly URI = 'ocs.error.op_not_found';
}

export class OpAlreadyRunningError extends OcsError {
  static override readonly CODE = 'OP_ALREADY_RUNNING';
  static override readonly URI = 'ocs.error.op_already_running';
}

export class OpTimeoutError extends OcsError {
  static override readonly CODE = 'OP_TIMEOUT';
  static override readonly URI = 'ocs.error.op_timeout';
}

export class AgentUnavailableError extends OcsError {
  static override readonly CODE = 'AGENT_UNAVAILABLE';
  static override readonly URI = 'ocs.error.agent_unavailable';
}

export class NotAuthorizedError extends OcsError {
  static override readonly CODE = 'NOT_AUTHORIZED';
  static override readonly URI = 'ocs.error.not_authorized';
}

export class RouterUnavailableError extends OcsError {
  static override readonly CODE = 'ROUTER_UNAVAILABLE';
  static override readonly URI = 'ocs.error.router_unavailable';
  static override readonly RETRYABLE = true;
}

export class ConfigError extends OcsError {
  static override readonly CODE = 'CONFIG';
  static override readonly URI = 'ocs.error.config';
}

/** Another live supervisor holds the instance lock: a second system on the same host and state dir. */
export class InstanceLockedError extends ConfigError {}

export class InternalError extends OcsError {
  static override readonly CODE = 'INTERNAL';
  static override readonly URI = 'ocs.error.internal';
}

/** Every catalogue entry, in the order of the README's error table. */
export const ERROR_CATALOGUE = [
  InvalidParamsError,
  OpNotFoundError,
  OpAlreadyRunningError,
  OpTimeoutError,
  AgentUnavailableError,
  NotAuthorizedError,
  RouterUnavailableError,
  ConfigError,
  InternalError,
] as const;

/** Exit code for configuration errors (EX_CONFIG); the supervisor never restarts on it. */
export const EXIT_CONFIG = 78;
/** Exit code when another instance holds the lock (EX_TEMPFAIL): not a config error, and not restarted. */
export const EXIT_LOCKED = 75;

const BY_URI = new Map<string, typeof OcsError>(ERROR_CATALOGUE.map((c) => [c.URI, c]));

/** The WAMP error URIs (WAMP spec §14.5.3) the router sends and the callers map (`errorFromWamp`). */
export const WAMP_ERRORS = {
  INVALID_URI: 'wamp.error.invalid_uri',
  NO_SUCH_PROCEDURE: 'wamp.error.no_such_procedure',
  PROCEDURE_ALREADY_EXISTS: 'wamp.error.procedure_already_exists',
  PROCEDURE_EXISTS_INVOCATION_POLICY_CONFLICT: 'wamp.error.procedure_exists_invocation_policy_conflict',
  NO_SUCH_REGISTRATION: 'wamp.error.no_such_registration',
  NO_SUCH_SUBSCRIPTION: 'wamp.error.no_such_subscription',
  NO_SUCH_SESSION: 'wamp.error.no_such_session',
  INVALID_ARGUMENT: 'wamp.error.invalid_argument',
  CANCELED: 'wamp.error.canceled',
  TIMEOUT: 'wamp.error.timeout',
  NOT_AUTHORIZED: 'wamp.error.not_authorized',
  AUTHORIZATION_FAILED: 'wamp.error.authorization_failed',
  AUTHENTICATION_FAILED: 'wamp.error.authentication_failed',
  NO_AUTH_METHOD: 'wamp.error.no_auth_method',
  NO_SUCH_REALM: 'wamp.error.no_such_realm',
  NO_SUCH_ROLE: 'wamp.error.no_such_role',
  PROTOCOL_VIOLATION: 'wamp.error.protocol_violation',
  OPTION_NOT_ALLOWED: 'wamp.error.option_not_allowed',
  RUNTIME_ERROR: 'wamp.error.runtime_error',
} as const;

/** Router URIs that map onto catalogue classes at the caller boundary. */
const ROUTER_URI_MAP: Record<string, typeof OcsError> = {
  [WAMP_ERRORS.NO_SUCH_PROCEDURE]: AgentUnavailableError,
  [WAMP_ERRORS.NO_SUCH_REGISTRATION]: AgentUnavailableError,
  [WAMP_ERRORS.CANCELED]: OpTimeoutError,
  [WAMP_ERRORS.TIMEOUT]: OpTimeoutError,
  [WAMP_ERRORS.NOT_AUTHORIZED]: NotAuthorizedError,
  [WAMP_ERRORS.AUTHORIZATION_FAILED]: NotAuthorizedError,
};

/**
 * Rebuild a typed error from a WAMP error (URI, args, kwargs). Unknown URIs become
 * InternalError with the original URI kept in details.
 */
export function errorFromWamp(uri: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): OcsError {
  const ctor = BY_URI.get(uri) ?? ROUTER_URI_MAP[uri] ?? InternalError;
  const first = args[0];
  const message = typeof first === 'string' ? first : uri;
  const wireDetails = kwargs['details'];
  const details: ErrorDetails =
    wireDetails !== null && typeof wireDetails === 'object' && !Array.isArray(wireDetails)
      ? { ...(wireDetails as ErrorDetails) }
      : {};
  if (!BY_URI.has(uri)) details['uri'] = uri;
  if (args.length > 0 && !BY_URI.has(uri)) details['args'] = args;
  return new ctor(message, { details });
}

/** The message of an Error, or anything else thrown as text (for log fields and replies). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
