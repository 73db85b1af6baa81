import { numberValue, isWampFloat } from '../wamp/float.js';
import { uniqueRandomId } from './ids.js';
import { MSG, isValidPatternUri, isValidUri, parseMatch, type Dict, type MatchPolicy } from './messages.js';
import { Payload } from './payload.js';
import { sendError, type Session } from './session.js';
import { UriIndex } from './uri-index.js';
import { WAMP_ERRORS } from '../errors.js';

/** RESULT and ERROR details the router sends (never modified). */
const NO_DETAILS: Dict = Object.freeze({});
const PROGRESS_DETAILS: Dict = Object.freeze({ progress: true });

export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';
const INVOKE_POLICIES: readonly string[] = ['single', 'roundrobin', 'random', 'first', 'last'];

export class Registration {
  readonly callees: Session[] = [];
  private next = 0;
  constructor(
    readonly id: number,
    readonly uri: string,
    readonly match: MatchPolicy,
    readonly invoke: InvokePolicy,
    readonly created: string,
    /** the first callee asked for `disclose_caller` */
    readonly shouldDiscloseCaller: boolean,
  ) {}

  pickCallee(): Session | undefined {
    const n = this.callees.length;
    if (n <= 1) return this.callees[0];
    switch (this.invoke) {
      case 'roundrobin': {
        const c = this.callees[this.next % n]!;
        this.next = (this.next + 1) % n;
        return c;
      }
      case 'random':
        return this.callees[Math.floor(Math.random() * n)];
      case 'last':
        return this.callees[n - 1];
      default:
        return this.callees[0];
    }
  }

  info(): Dict {
    return { id: this.id, created: this.created, uri: this.uri, match: this.match, invoke: this.invoke };
  }
}

/** One call in flight: the caller's request and the callee's invocation. */
export class Invocation {
  timer: ReturnType<typeof setTimeout> | undefined;
  /** INTERRUPT already sent for a `kill` cancel: the callee's answer is still relayed */
  isKilled = false;
  /** performance.now() at the CALL */
  readonly startedAtMs = performance.now();
  constructor(
    readonly id: number,
    readonly caller: Session,
    readonly callerRequest: number,
    readonly callee: Session,
    readonly registration: Registration,
    readonly shouldReceiveProgress: boolean,
  ) {}
}

/** Hooks the realm gives the dealer: meta procedures and meta events. */
export interface DealerHooks {
  /** A callee answered a call (final YIELD or ERROR) `seconds` after the CALL (metrics). */
  callAnswered(seconds: number): void;
  /** Runs a `wamp.*` procedure; returns undefined when there is no such meta procedure. */
  callMeta(session: Session, procedure: string, args: unknown[], kwargs: Dict): { args?: unknown[]; kwargs?: Dict; error?: string } | undefined;
  registrationCreated(session: Session, reg: Registration): void;
  registered(session: Session, reg: Registration): void;
  unregistered(session: Session, reg: Registration): void;
  registrationDeleted(session: Session, reg: Registration): void;
}

function callTimeoutMs(options: Dict): number {
  const t = options['timeout'];
  if (typeof t === 'number') return t > 0 && Number.isFinite(t) ? t : 0;
  if (isWampFloat(t)) return numberValue(t) > 0 ? numberValue(t) : 0;
  return 0;
}

export class Dealer {
  readonly index = new UriIndex<Registration>();
  readonly byId = new Map<number, Registration>();

  constructor(private readonly hooks: DealerHooks) {}

  register(session: Session, request: number, options: Dict, procedure: string): void {
    const match = parseMatch(options);
    if (match === undefined) {
      sendError(session, MSG.REGISTER, request, WAMP_ERRORS.INVALID_ARGUMENT, `invalid match policy ${JSON.stringify(options['match'])}`);
      return;
    }
    const invoke = options['invoke'] === undefined ? 'single' : options['invoke'];
    if (typeof invoke !== 'string' || !INVOKE_POLICIES.includes(invoke)) {
      sendError(session, MSG.REGISTER, request, WAMP_ERRORS.INVALID_ARGUMENT, `invalid invocation policy ${JSON.stringify(invoke)}`);
      return;
    }
    if (!isValidPatternUri(procedure, match)) {
      sendError(session, MSG.REGISTER, request, WAMP_ERRORS.INVALID_URI, `register for invalid procedure URI '${procedure}'`);
      return;
    }
    if (procedure.startsWith('wamp.') || procedure.startsWith('crossbar.')) {
      sendError(session, MSG.REGISTER, request, WAMP_ERRORS.INVALID_URI, `register for restricted procedure URI '${procedure}'`);
      return;
    }
    if (!session.authorizer!.isAllowed(procedure, 'register')) {
      sendError(session, MSG.REGISTER, request, WAMP_ERRORS.NOT_AUTHORIZED, `session is not authorized to register procedure '${procedure}'`);
      return;
    }
    let reg = this.index.get(procedure, match);
    if (reg !== undefined) {
      if (reg.invoke === 'single' || reg.callees.includes(session)) {
        sendError(session, MSG.REGISTER, request, WAMP_ERRORS.PROCEDURE_ALREADY_EXISTS, `register for already registered procedure '${procedure}'`);
        return;
      }
      if (reg.invoke !== invoke) {
        sendError(
          session,
          MSG.REGISTER,
          request,
          WAMP_ERRORS.PROCEDURE_EXISTS_INVOCATION_POLICY_CONFLICT,
          `register for already registered procedure '${procedure}' with conflicting invocation policy (has ${reg.invoke} and ${invoke} was requested)`,
        );
        return;
      }
    }
    const isNew = reg === undefined;
    if (reg === undefined) {
      reg = new Registration(uniqueRandomId(this.byId), procedure, match, invoke as InvokePolicy, new Date().toISOString(), options['disclose_caller'] === true);
      this.index.add(reg);
      this.byId.set(reg.id, reg);
    }
    reg.callees.push(session);
    session.registrations.add(reg);
    session.send([MSG.REGISTERED, request, reg.id]);
    if (isNew) this.hooks.registrationCreated(session, reg);
    this.hooks.registered(session, reg);
  }

  unregister(session: Session, request: number, registrationId: number): void {
    const reg = this.byId.get(registrationId);
    if (reg === undefined || !reg.callees.includes(session)) {
      sendError(session, MSG.UNREGISTER, request, WAMP_ERRORS.NO_SUCH_REGISTRATION);
      return;
    }
    this.drop(session, reg);
    session.send([MSG.UNREGISTERED, request]);
  }

  private drop(session: Session, reg: Registration): void {
    const i = reg.callees.indexOf(session);
    if (i >= 0) reg.callees.splice(i, 1);
    session.registrations.delete(reg);
    const isLast = reg.callees.length === 0;
    if (isLast) {
      this.index.remove(reg);
      this.byId.delete(reg.id);
    }
    this.hooks.unregistered(session, reg);
    if (isLast) this.hooks.registrationDeleted(session, reg);
  }

  call(caller: Session, request: number, options: Dict, procedure: string, payload: Payload): void {
    let reg = this.index.get(procedure, 'exact');
    if (reg === undefined) {
      if (!isValidUri(procedure)) {
        sendError(caller, MSG.CALL, request, WAMP_ERRORS.INVALID_URI, `call with invalid procedure URI '${procedure}'`);
        return;
      }
    }
    if (!caller.authorizer!.isAllowed(procedure, 'call')) {
      sendError(caller, MSG.CALL, request, WAMP_ERRORS.NOT_AUTHORIZED, `session is not authorized to call procedure '${procedure}'`);
      return;
    }
    if (reg === undefined) {
      if (procedure.startsWith('wamp.')) {
        this.callMeta(caller, request, procedure, payload);
        return;
      }
      reg = this.index.best(procedure);
      if (reg === undefined) {
        sendError(caller, MSG.CALL, request, WAMP_ERRORS.NO_SUCH_PROCEDURE, `no callee registered for procedure <${procedure}>`);
        return;
      }
    }
    const callee = reg.pickCallee()!;
    if (caller.callsAsCaller.has(request)) {
      sendError(caller, MSG.CALL, request, WAMP_ERRORS.INVALID_ARGUMENT, `a call with request ID ${request} is already running`);
      return;
    }
    const shouldReceiveProgress = options['receive_progress'] === true;
    const inv = new Invocation(callee.invocationIds.next(), caller, request, callee, reg, shouldReceiveProgress);
    caller.callsAsCaller.set(request, inv);
    callee.invocations.set(inv.id, inv);

    const details: Dict = {};
    if (shouldReceiveProgress) details['receive_progress'] = true;
    if (reg.match !== 'exact') details['procedure'] = procedure;
    if (options['disclose_me'] === true || reg.shouldDiscloseCaller || caller.authorizer!.shouldDisclose(procedure, 'caller')) {
      details['caller'] = caller.id;
      details['caller_authid'] = caller.identity.authid;
      details['caller_authrole'] = caller.identity.authrole;
    }
    const timeoutMs = callTimeoutMs(options);
    if (timeoutMs > 0) {
      details['timeout'] = timeoutMs;
      inv.timer = setTimeout(() => this.timeOut(inv, timeoutMs), timeoutMs);
    }
    callee.send([MSG.INVOCATION, inv.id, reg.id, details], payload);
  }

  private callMeta(caller: Session, request: number, procedure: string, payload: Payload): void {
    let r: ReturnType<DealerHooks['callMeta']>;
    try {
      r = this.hooks.callMeta(caller, procedure, payload.args ?? [], payload.kwargs ?? {});
    } catch (e) {
      sendError(caller, MSG.CALL, request, WAMP_ERRORS.INVALID_ARGUMENT, e instanceof Error ? e.message : String(e));
      return;
    }
    if (r === undefined) {
      sendError(caller, MSG.CALL, request, WAMP_ERRORS.NO_SUCH_PROCEDURE, `no callee registered for procedure <${procedure}>`);
    } else if (r.error !== undefined) {
      caller.send([MSG.ERROR, MSG.CALL, request, {}, r.error], Payload.of(r.args, r.kwargs));
    } else {
      caller.send([MSG.RESULT, request, {}], Payload.of(r.args, r.kwargs));
    }
  }

  /** The callee's final answer: the call's latency is recorded, then it is finished. */
  private answered(inv: Invocation): void {
    this.hooks.callAnswered((performance.now() - inv.startedAtMs) / 1000);
    this.finish(inv);
  }

  /** Removes an invocation from both sides' tables. */
  private finish(inv: Invocation): void {
    inv.caller.callsAsCaller.delete(inv.callerRequest);
    inv.callee.invocations.delete(inv.id);
    if (inv.timer !== undefined) {
      clearTimeout(inv.timer);
      inv.timer = undefined;
    }
  }

  private interrupt(inv: Invocation, mode: string, reason?: string): void {
    if (!inv.callee.isInterruptible || !inv.callee.isOpen) return;
    const options: Dict = { mode };
    if (reason !== undefined) options['reason'] = reason;
    inv.callee.send([MSG.INTERRUPT, inv.id, options]);
  }

  private timeOut(inv: Invocation, timeoutMs: number): void {
    inv.timer = undefined;
    if (inv.caller.callsAsCaller.get(inv.callerRequest) !== inv) return;
    this.finish(inv);
    this.interrupt(inv, 'killnowait', WAMP_ERRORS.TIMEOUT);
    if (inv.caller.isOpen) sendError(inv.caller, MSG.CALL, inv.callerRequest, WAMP_ERRORS.TIMEOUT, `call timed out after ${timeoutMs} ms`);
  }

  /** YIELD from a callee: RESULT (progressive or final) to the caller. Unknown IDs (late answers) are dropped. */
  yield(callee: Session, invocationId: number, options: Dict, payload: Payload): void {
    const inv = callee.invocations.get(invocationId);
    if (inv === undefined) return;
    const caller = inv.caller;
    const isProgress = options['progress'] === true;
    if (isProgress) {
      if (!inv.shouldReceiveProgress) return;
    } else this.answered(inv);
    if (!caller.isOpen) return;
    caller.send([MSG.RESULT, inv.callerRequest, isProgress ? PROGRESS_DETAILS : NO_DETAILS], payload);
  }

  /** ERROR from a callee for an INVOCATION: relayed to the caller with its URI, args and kwargs (not its details). */
  calleeError(callee: Session, invocationId: number, _details: Dict, error: string, payload: Payload): void {
    const inv = callee.invocations.get(invocationId);
    if (inv === undefined) return;
    this.answered(inv);
    const caller = inv.caller;
    if (!caller.isOpen) return;
    caller.send([MSG.ERROR, MSG.CALL, inv.callerRequest, NO_DETAILS, error], payload);
  }

  /**
   * CANCEL from a caller. `skip`: ERROR to the caller now, the callee is not told. `killnowait`:
   * INTERRUPT and ERROR now. `kill`: INTERRUPT, then the callee's answer is relayed. A callee
   * that did not announce call_canceling is never sent INTERRUPT (kill modes become skip).
   */
  cancel(caller: Session, request: number, options: Dict): void {
    const inv = caller.callsAsCaller.get(request);
    if (inv === undefined) return;
    let mode = options['mode'];
    if (mode !== 'skip' && mode !== 'kill' && mode !== 'killnowait') mode = 'killnowait';
    if (mode !== 'skip' && !inv.callee.isInterruptible) mode = 'skip';
    if (mode === 'kill') {
      if (!inv.isKilled) {
        inv.isKilled = true;
        this.interrupt(inv, 'kill');
      }
      return;
    }
    this.finish(inv);
    if (mode === 'killnowait') this.interrupt(inv, 'killnowait');
    sendError(caller, MSG.CALL, request, WAMP_ERRORS.CANCELED, `call canceled (mode ${mode})`);
  }

  /** A leaving session: its registrations go, its pending calls as callee fail, its calls as caller are interrupted. */
  detach(session: Session): void {
    for (const inv of [...session.invocations.values()]) {
      this.finish(inv);
      if (inv.caller.isOpen) sendError(inv.caller, MSG.CALL, inv.callerRequest, WAMP_ERRORS.CANCELED, 'callee disconnected from in-flight request');
    }
    for (const inv of [...session.callsAsCaller.values()]) {
      this.finish(inv);
      this.interrupt(inv, 'killnowait', WAMP_ERRORS.CANCELED);
    }
    for (const reg of [...session.registrations]) this.drop(session, reg);
  }
}
