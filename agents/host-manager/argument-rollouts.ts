import type { Logger } from '../../lib/log.js';
import { messageOf } from '../../lib/errors.js';
import type { Orchestrator } from '../../lib/orchestrator/index.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';

/**
 * A config reload that changes a cluster service's `arguments`: the first live host of the
 * service rolls it out (`rollout(service, max_unavailable=1)`), so its instances take the new
 * arguments without a gap; the other hosts leave it to that one. Other changes of `services:`
 * take a HostManager restart.
 */
export class ArgumentRollouts {
  /** Each cluster service's `arguments` as last read (JSON). */
  private byService: Record<string, string>;

  constructor(
    site: SiteConfig,
    private readonly log: Logger,
  ) {
    this.byService = argumentsOf(site);
  }

  /** The site file as read again; `orch` is the running orchestrator (null: none runs). */
  onSite(site: SiteConfig, orch: Orchestrator | null, note: (text: string) => void): void {
    const previous = this.byService;
    this.byService = argumentsOf(site);
    for (const [service, args] of Object.entries(this.byService)) {
      if (previous[service] === undefined || previous[service] === args) continue;
      if (orch === null) {
        this.log.warn({ service }, 'service arguments changed while the orchestrator does not run: restart its instances to apply them');
        continue;
      }
      const coordinator = orch.rolloutCoordinator(service);
      if (coordinator !== orch.node) {
        this.log.info({ service, coordinator }, 'service arguments changed; the rollout is left to the first live host of the service');
        continue;
      }
      try {
        orch.startRollout(service, 1);
        note(`rollout of ${service}: its arguments changed in the site file`);
        this.log.info({ service }, 'service arguments changed; rolling out');
      } catch (err) {
        this.log.warn({ service, err: messageOf(err) }, 'service arguments changed; no rollout started');
      }
    }
  }
}

function argumentsOf(site: SiteConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(site.services).map(([name, s]) => [name, JSON.stringify(s.arguments)]));
}
