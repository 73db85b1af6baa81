/**
 * An exclusive access grant held from the Access Director (`{ad}.request_exclusive`, ocs-protocol
 * §7.3), as OCS's `ExclusiveAccessClient` holds one: `acquire` asks for now + `durationS`
 * (default 100 s, as OCS's client), a timer renews it when two thirds of that have passed, and
 * `release()` gives it back. `password` is the grant's password, to send to the agents it covers.
 */
import { NotAuthorizedError } from '../errors.js';
import type { Logger } from '../log.js';
import { isWampFloat } from '../wamp/float.js';

export const GRANT_DURATION_S = 100;

export type GrantCall = (kwargs: Record<string, unknown>) => Promise<unknown>;

export interface ExclusiveGrantOptions {
  /** The grant block's password, when the Director's config asks for one. */
  password?: string;
  /** Who holds it, shown to the clients it locks out (default `ocs-ts client`). */
  grantee?: string;
  /** Seconds each acquire or renew asks for. */
  durationS?: number;
  /** Renew in the background before expiry (default true). */
  shouldRenew?: boolean;
}

interface GrantReply {
  error?: string;
  message?: string;
  password?: string;
  expire_at?: unknown;
  step?: number;
}

function seconds(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (isWampFloat(v)) return v.value;
  return null;
}

export class ExclusiveGrant {
  /** The grant's own password (null once released). */
  password: string | null = null;
  /** Unix seconds at which the Director drops the grant unless renewed. */
  expireAtS: number | null = null;
  renewals = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly base: Record<string, unknown>;

  constructor(
    readonly grantName: string,
    private readonly call: GrantCall,
    private readonly options: ExclusiveGrantOptions,
    private readonly logger: Logger,
    private readonly onReleased: (grant: ExclusiveGrant) => void,
  ) {
    this.base = { grant_name: grantName, password: options.password ?? null, grantee: options.grantee ?? 'ocs-ts client' };
  }

  private async request(action: string): Promise<GrantReply> {
    const durationS = this.options.durationS ?? GRANT_DURATION_S;
    const kwargs = { ...this.base, action, ...(action === 'release' ? {} : { expire_at: Date.now() / 1000 + durationS }) };
    const reply = (await this.call(kwargs)) as GrantReply;
    if (typeof reply !== 'object' || reply === null) throw new NotAuthorizedError(`request_exclusive ${action} of '${this.grantName}' got no reply`, { details: { grant: this.grantName } });
    if (reply.error !== undefined) throw new NotAuthorizedError(`request_exclusive ${action} of '${this.grantName}': ${reply.error}`, { details: { grant: this.grantName, action } });
    return reply;
  }

  async acquire(): Promise<this> {
    const reply = await this.request('acquire');
    this.password = reply.password ?? null;
    this.expireAtS = seconds(reply.expire_at);
    this.schedule();
    return this;
  }

  async renew(): Promise<void> {
    const reply = await this.request('renew');
    this.expireAtS = seconds(reply.expire_at);
    this.renewals++;
    this.schedule();
  }

  /** Gives the grant back (idempotent); the renew timer stops. */
  async release(): Promise<void> {
    this.stop();
    if (this.password === null) return;
    this.password = null;
    this.expireAtS = null;
    this.onReleased(this);
    await this.request('release');
  }

  /** Stops renewing without releasing (the grant then expires on its own). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.stop();
    if (this.options.shouldRenew === false || this.expireAtS === null) return;
    const inMs = Math.max(500, ((this.expireAtS - Date.now() / 1000) * 1000 * 2) / 3);
    this.timer = setTimeout(() => {
      this.renew().catch((err: unknown) => this.logger.warn({ grant: this.grantName, err: (err as Error).message }, 'renewing the exclusive grant failed'));
    }, inMs);
    this.timer.unref?.();
  }
}
