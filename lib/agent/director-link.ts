/**
 * An agent under `director:<id>` (ocs-protocol §7.3): it listens to the Access Director's
 * `controls` feed and asks for its rules (`agent_poll(instance_id, agent_class)`) at every join.
 * Until a message for it arrives every level is blocked (level 0), so every start is refused with
 * OCS's text; while the poll finds no Director it asks again every `retryMs`. A Director that
 * comes back sends a full `reset`, which the agent applies without a restart. Messages of another
 * `ac_version` are ignored (logged).
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import { AC_VERSION, type AccessControl } from '../ops/access.js';
import type { EventHandler } from '../wamp/autobahn.js';

export const DIRECTOR_POLL_RETRY_MS = 5000;

export interface DirectorLinkHost {
  subscribe(topic: string, handler: EventHandler): Promise<void>;
  call<T = unknown>(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<T>;
  on(event: 'joined', listener: (isFirstJoin: boolean) => void): unknown;
  on(event: 'left', listener: () => void): unknown;
}

export interface DirectorLinkOptions {
  host: DirectorLinkHost;
  access: AccessControl;
  addressRoot: string;
  instanceId: string;
  agentClass: string;
  clock: Clock;
  logger: Logger;
  retryMs?: number;
}

export class DirectorLink {
  private readonly director: string;
  private retryTimer: TimerHandle | undefined;
  /** rules arrived since the last join */
  private hasRules = false;
  private isJoined = false;

  constructor(private readonly options: DirectorLinkOptions) {
    this.director = `${options.addressRoot}.${options.access.directorId!}`;
    void options.host.subscribe(`${this.director}.feeds.controls`, (args) => this.onMessage(args));
    options.host.on('joined', () => {
      this.isJoined = true;
      this.hasRules = false;
      void this.poll();
    });
    options.host.on('left', () => {
      this.isJoined = false;
      this.clearRetry();
    });
  }

  private onMessage(args: unknown[] | undefined): void {
    const pair = args?.[0];
    const message = Array.isArray(pair) ? pair[0] : undefined;
    if (typeof message !== 'object' || message === null) return;
    const version = (message as { ac_version?: unknown }).ac_version;
    if (version !== AC_VERSION) {
      this.options.logger.error({ director: this.director, ac_version: version }, `Access Control version mismatch: director=${String(version)}, Agent=${AC_VERSION}`);
      return;
    }
    if (this.options.access.applyDirectorMessage(message)) {
      this.hasRules = true;
      this.clearRetry();
      this.options.logger.info({ director: this.director, step: this.options.access.accessData().step }, 'access rules received from the Access Director');
    }
  }

  private async poll(): Promise<void> {
    this.clearRetry();
    if (!this.isJoined || this.hasRules) return;
    try {
      await this.options.host.call(`${this.director}.agent_poll`, [], { instance_id: this.options.instanceId, agent_class: this.options.agentClass });
    } catch (err) {
      this.options.logger.warn({ director: this.director, err: (err as { error?: string }).error ?? String(err) }, `Failed to request access rules from access director at ${this.director}; every level stays blocked; asking again`);
    }
    // the reply comes on the feed; ask again until it has
    if (this.isJoined && !this.hasRules) this.retryTimer = this.options.clock.setTimeout(() => void this.poll(), this.options.retryMs ?? DIRECTOR_POLL_RETRY_MS);
  }

  private clearRetry(): void {
    this.options.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
