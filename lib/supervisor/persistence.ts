import type { TimerHandle } from '../clock.js';
import type { ChildRecord } from './child-record.js';
import type { SupervisorCore } from './event-loop.js';
import { StateStore, STATE_SCHEMA_VERSION, type SupervisorState } from './state-store.js';

/**
 * When the supervisor's state file is written: at once for what must survive a crash (a desired
 * change, a spawn, an adoption, a removal), debounced for the rest, deferred to one write while
 * the startup batches. The file format and its atomic write are `state-store.ts`.
 */
export class SupervisorPersistence {
  readonly store: StateStore;
  /** Writes so far, continuing the saved file's count. */
  seq = 0;
  /** While set (startup), writes are deferred to one write at the end. */
  isBatching = false;
  private isUrgentDirty = false;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly core: SupervisorCore,
    private readonly debounceMs: number,
  ) {
    this.store = new StateStore(core.stateFile);
  }

  /** Writes now (or, while batching, at the end of the batch). */
  persistNow(): void {
    const { clock } = this.core;
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.isBatching) {
      this.isUrgentDirty = true;
      return;
    }
    this.isUrgentDirty = false;
    if (this.core.lock === null || this.core.phase === 'closed') return;
    this.seq += 1;
    try {
      this.store.save(this.snapshot());
    } catch (err) {
      this.core.log.error({ err }, 'cannot write the supervisor state file');
    }
  }

  /** Something changed: urgent changes are written when the current step ends, others debounced. */
  markDirty(isUrgent: boolean): void {
    if (isUrgent) {
      this.isUrgentDirty = true;
      if (!this.core.isDraining) this.persistNow();
      return;
    }
    if (this.timer === undefined) {
      this.timer = this.core.clock.setTimeout(() => {
        this.timer = undefined;
        this.persistNow();
      }, this.debounceMs);
    }
  }

  /** Writes an urgent change left by the step that just ended. */
  flushUrgent(): void {
    if (this.isUrgentDirty) this.persistNow();
  }

  /** Drops a pending debounced write (shutdown writes once itself). */
  cancelPending(): void {
    this.core.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private snapshot(): SupervisorState {
    const core = this.core;
    const children: Record<string, ChildRecord> = {};
    for (const [id, rt] of core.children) children[id] = rt.record;
    const self = core.control.proc.readStat(core.pid);
    return {
      schema: STATE_SCHEMA_VERSION,
      supervisor: {
        supervisorId: core.supervisorId,
        instanceIndex: core.instanceIndex,
        pid: core.pid,
        startTicks: self?.startTicks ?? null,
        bootId: core.bootId,
        seq: this.seq,
        writtenAtMs: core.clock.nowMs(),
      },
      children,
    };
  }
}
