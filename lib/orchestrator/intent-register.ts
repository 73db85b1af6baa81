/**
 * What this host knows of the operators' wishes for each service: the cluster-wide intent
 * register (service-intent.ts: set_expect, relocate, placed), the services frozen on this host
 * only, and the `clear` requests (a counter per service and host, the greatest one wins, so a
 * clear asked on any host reaches the host it names through the placement feeds).
 */
import type { Logger } from '../log.js';
import type { GlobalExpect } from '../site-config/services.js';
import type { OrchestratorSnapshot } from './orchestrator-snapshot.js';
import type { OrchestratorCommand } from './orchestrator-types.js';
import { RUNTIME_EXPECT, initialIntent, isNewerIntent, requestIntent, type RuntimeExpect, type ServiceIntent } from './service-intent.js';

export type IntentRequest = { op: RuntimeExpect } | { op: 'relocate'; to: string };

export class IntentRegister {
  private readonly intents = new Map<string, ServiceIntent>();
  private readonly localFrozen = new Set<string>();
  private readonly frozenEmitted = new Map<string, boolean>();
  private readonly clears = new Map<string, Map<string, number>>();
  private readonly clearsHandled = new Map<string, number>();

  constructor(
    private readonly node: string,
    globalExpects: Readonly<Record<string, GlobalExpect>>,
    private readonly logger: Logger,
  ) {
    for (const [service, globalExpect] of Object.entries(globalExpects)) this.intents.set(service, initialIntent(globalExpect));
  }

  has(service: string): boolean {
    return this.intents.has(service);
  }

  intent(service: string): ServiceIntent {
    return this.intents.get(service)!;
  }

  // -- the cluster-wide register

  /** An operator request made here; `maxGenSeen` is the greatest generation any peer published. */
  request(service: string, request: IntentRequest, maxGenSeen: number): void {
    const current = this.intent(service);
    const next = requestIntent(current, request, this.node, maxGenSeen);
    this.logger.info({ service, op: request.op, gen: next.gen }, 'cluster intent set');
    this.adopt(service, next, this.node);
  }

  /** Takes `intent` if it is newer than the one held (from a peer's feed, a request or a snapshot). */
  adopt(service: string, intent: ServiceIntent, from: string): void {
    const current = this.intents.get(service);
    if (current === undefined || !isNewerIntent(intent, current)) return;
    this.intents.set(service, intent);
    if (intent.op === RUNTIME_EXPECT.THAWED && (intent.gen !== current.gen || intent.by !== current.by)) this.localFrozen.delete(service);
    if (from !== this.node) this.logger.info({ service, op: intent.op, gen: intent.gen, by: intent.by }, 'cluster intent adopted');
  }

  /** The move of the register is over (done or cancelled). */
  settleMove(service: string, reason: string): void {
    const intent = this.intent(service);
    this.intents.set(service, { ...intent, settled: true });
    this.logger.info({ service, gen: intent.gen }, reason);
  }

  // -- freezes on this host

  freezeHere(service: string): void {
    this.localFrozen.add(service);
  }

  thawHere(service: string): void {
    this.localFrozen.delete(service);
  }

  /** Frozen for everyone (`set_expect frozen`) or on this host. */
  isFrozenHere(service: string): boolean {
    return this.intent(service).frozen || this.localFrozen.has(service);
  }

  frozenHere(): string[] {
    return [...this.localFrozen].sort();
  }

  /** `freeze` / `thaw` commands for each instance of a service whose frozen state here changed since the last call. */
  freezeChanges(slotsOf: ReadonlyMap<string, readonly string[]>): OrchestratorCommand[] {
    const commands: OrchestratorCommand[] = [];
    for (const [service, slots] of slotsOf) {
      const isFrozen = this.isFrozenHere(service);
      if ((this.frozenEmitted.get(service) ?? false) === isFrozen) continue;
      this.frozenEmitted.set(service, isFrozen);
      for (const slot of slots) {
        commands.push({ type: isFrozen ? 'freeze' : 'thaw', instanceId: slot, service, reason: isFrozen ? 'service frozen' : 'service thawed' });
      }
    }
    return commands;
  }

  // -- clears

  /** The counter of a new clear request for `service` on `node`. */
  nextClear(service: string, node: string): number {
    return (this.clears.get(service)?.get(node) ?? 0) + 1;
  }

  noteClear(service: string, node: string, counter: number): void {
    let byNode = this.clears.get(service);
    if (byNode === undefined) {
      byNode = new Map();
      this.clears.set(service, byNode);
    }
    if (counter > (byNode.get(node) ?? 0)) byNode.set(node, counter);
  }

  /** Services with a clear for this host not acted on yet; they count as acted on from now. */
  takeNewClears(): string[] {
    const due: string[] = [];
    for (const [service, byNode] of this.clears) {
      const counter = byNode.get(this.node) ?? 0;
      if (counter <= (this.clearsHandled.get(service) ?? 0)) continue;
      this.clearsHandled.set(service, counter);
      due.push(service);
    }
    return due;
  }

  clearsRecord(): Record<string, Record<string, number>> {
    const clears: Record<string, Record<string, number>> = {};
    for (const [service, byNode] of this.clears) clears[service] = Object.fromEntries(byNode);
    return clears;
  }

  intentsRecord(): Record<string, ServiceIntent> {
    return Object.fromEntries(this.intents);
  }

  // -- persistence

  snapshot(): Pick<OrchestratorSnapshot, 'frozen_services' | 'intents' | 'clears' | 'clears_handled'> {
    return {
      frozen_services: this.frozenHere(),
      intents: this.intentsRecord(),
      clears: this.clearsRecord(),
      clears_handled: Object.fromEntries(this.clearsHandled),
    };
  }

  /** Freezes, intents and clears of a snapshot; services no longer declared are ignored. */
  restore(snap: Pick<OrchestratorSnapshot, 'frozen_services' | 'intents' | 'clears' | 'clears_handled'>): void {
    for (const service of snap.frozen_services) if (this.has(service)) this.localFrozen.add(service);
    for (const [service, intent] of Object.entries(snap.intents)) if (this.has(service)) this.adopt(service, intent, this.node);
    for (const [service, byNode] of Object.entries(snap.clears)) {
      if (!this.has(service)) continue;
      for (const [node, counter] of Object.entries(byNode)) this.noteClear(service, node, counter);
    }
    for (const [service, counter] of Object.entries(snap.clears_handled)) if (this.has(service)) this.clearsHandled.set(service, counter);
  }
}
