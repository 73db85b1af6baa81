/**
 * This host's rolling restarts (rollout.ts), one per service at a time: starting one (refused
 * while this host or a peer runs one for the service), stepping them each tick, and the
 * `restarts` requests this host publishes for instances other hosts hold.
 */
import { InvalidParamsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LocalInstances } from './local-instances.js';
import type { PlacementMessage } from './placement-message.js';
import { Rollout, type RolloutFacts, type RolloutReport } from './rollout.js';
import type { ClusterFacts } from './service-context.js';

export interface RolloutRequest {
  service: string;
  slots: readonly string[];
  hosts: readonly string[];
  maxUnavailable: number;
  readyTimeoutMs: number;
  minReadyMs?: number;
}

export class Rollouts {
  private readonly byService = new Map<string, { rollout: Rollout; hosts: readonly string[] }>();
  private count = 0;

  constructor(
    private readonly node: string,
    private readonly incarnation: number,
    private readonly facts: ClusterFacts,
    private readonly local: LocalInstances,
    private readonly logger: Logger,
  ) {}

  start(request: RolloutRequest, peerMessages: Iterable<PlacementMessage>, nowMs: number): RolloutReport {
    const { service, slots } = request;
    if (!Number.isInteger(request.maxUnavailable) || request.maxUnavailable < 1) {
      throw new InvalidParamsError(`max_unavailable must be a whole number >= 1, got ${request.maxUnavailable}`, { details: { service, max_unavailable: request.maxUnavailable } });
    }
    if (this.byService.get(service)?.rollout.isRunning) throw new InvalidParamsError(`a rollout of ${service} is already under way on this host`, { details: { service } });
    for (const msg of peerMessages) {
      const busy = slots.find((slot) => Object.hasOwn(msg.restarts, slot));
      if (busy !== undefined) throw new InvalidParamsError(`a rollout of ${service} is under way from host ${msg.node} (restarting ${busy})`, { details: { service, host: msg.node } });
    }
    this.count += 1;
    const rollout = new Rollout({
      service,
      slots,
      maxUnavailable: Math.min(request.maxUnavailable, slots.length),
      readyTimeoutMs: request.readyTimeoutMs,
      ...(request.minReadyMs !== undefined ? { minReadyMs: request.minReadyMs } : {}),
      token: `${this.node}/${this.incarnation}/${this.count}`,
      nowMs,
    });
    this.byService.set(service, { rollout, hosts: request.hosts });
    this.logger.info({ service, token: rollout.token, max_unavailable: request.maxUnavailable }, 'rollout started');
    return rollout.report(nowMs);
  }

  abort(service: string, nowMs: number, why: string): void {
    this.byService.get(service)?.rollout.abort(nowMs, why);
  }

  report(service: string, nowMs: number): RolloutReport | null {
    return this.byService.get(service)?.rollout.report(nowMs) ?? null;
  }

  reports(nowMs: number): Record<string, RolloutReport> {
    return Object.fromEntries([...this.byService].map(([service, { rollout }]) => [service, rollout.report(nowMs)]));
  }

  /** One round of every running rollout; this host's own instances are restarted here. */
  step(nowMs: number, canAct: boolean): void {
    if (!canAct) return;
    for (const { rollout, hosts } of this.byService.values()) {
      if (!rollout.isRunning) continue;
      const facts: RolloutFacts = {
        nodes: hosts,
        self: this.node,
        isDead: (n) => this.facts.isDead(n),
        instanceInfo: (n, slot) => this.facts.instanceInfo(n, slot),
      };
      for (const [slot, holder] of rollout.step(facts, nowMs)) {
        if (holder === this.node) this.local.requestRestart(slot, rollout.token);
      }
      if (!rollout.isRunning) {
        const report = rollout.report(nowMs);
        this.logger[report.status === 'done' ? 'info' : 'warn']({ service: rollout.service, token: rollout.token, status: report.status, elapsed_s: report.elapsed_s }, `rollout ${report.status}: ${report.message}`);
      }
    }
  }

  /** The restart requests for instances held elsewhere: the `restarts` of this host's placement message. */
  requests(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { rollout } of this.byService.values()) {
      for (const [slot, holder] of rollout.requested()) if (holder !== this.node) out[slot] = rollout.token;
    }
    return out;
  }
}
