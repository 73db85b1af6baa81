import type { TimerHandle } from '../clock.js';
import { CHILD_STATES, type SignalName } from './child-record.js';
import type { SupervisorCore } from './event-loop.js';
import { ChildLogFiles } from './log-files.js';
import { isDeadState, isStoppedState } from './proc-identity.js';
import type { SpawnHandle } from './process-control.js';
import type { MarkedProcess } from './reconcile.js';
import { withRlimits } from './resource-limits.js';
import { ENV_SUPERVISED_ID, ENV_SUPERVISOR, ENV_SUPERVISOR_ID, EXIT_STDERR_TAIL_LINES, type ChildRuntime } from './supervisor-types.js';

export interface ChildProcessesOptions {
  baseEnv: Readonly<Record<string, string>>;
  envFor: (id: string) => Readonly<Record<string, string>>;
  logRotateCheckMs: number;
}

/**
 * The process side of the supervisor: spawning a run, signalling a group (never a pid that is no
 * longer the recorded process), seeing exits (by event for spawned children, by the shared /proc
 * poll for adopted ones), external SIGSTOP/SIGCONT, log rotation, and the orphan scan by env marker.
 * Outcomes go back into the event loop as events.
 */
export class ChildProcesses {
  private pollTimer: TimerHandle | undefined;
  private lastRotateCheckMs = 0;

  constructor(
    private readonly core: SupervisorCore,
    private readonly options: ChildProcessesOptions,
  ) {}

  startPolling(): void {
    this.pollTimer = this.core.clock.setInterval(() => this.poll(), this.core.pollIntervalMs);
  }

  stopPolling(): void {
    this.core.clock.clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  spawnRun(rt: ChildRuntime): void {
    const core = this.core;
    const spec = rt.record.spec;
    const id = spec.id;
    if (spec.cmd === null) {
      core.enqueue(id, { type: 'spawn_failed', message: 'no command' });
      return;
    }
    let fds;
    try {
      fds = rt.logs.openForRun();
    } catch (err) {
      core.enqueue(id, { type: 'spawn_failed', message: `cannot open log files: ${(err as Error).message}` });
      return;
    }
    const env = {
      ...this.options.baseEnv,
      ...spec.env,
      ...this.options.envFor(id),
      [ENV_SUPERVISOR]: core.markerKey,
      [ENV_SUPERVISOR_ID]: core.supervisorId,
      [ENV_SUPERVISED_ID]: id,
    };
    let cmd: string[];
    try {
      cmd = withRlimits(spec.cmd, spec.limits);
    } catch (err) {
      ChildLogFiles.closeFds(fds);
      core.enqueue(id, { type: 'spawn_failed', message: (err as Error).message });
      return;
    }
    const handle = core.control.spawn({ cmd, cwd: spec.cwd, env, stdoutFd: fds.stdoutFd, stderrFd: fds.stderrFd });
    ChildLogFiles.closeFds(fds);
    rt.handle = handle;
    if (handle.pid === null) {
      handle.onError((err) => {
        if (rt.handle === handle) rt.handle = null;
        core.dispatch(id, { type: 'spawn_failed', message: err.message });
      });
      return;
    }
    const pid = handle.pid;
    core.resources.placeRun(rt, pid);
    handle.onExit((code, signal) => this.onSpawnedExit(id, handle, pid, code, signal));
    handle.onError((err) => rt.logger.warn({ err, pid }, 'child process error'));
    const stat = core.control.proc.readStat(pid);
    // Detached: the child leads its own process group (pgid = pid).
    core.enqueue(id, { type: 'spawned', pid, pgid: pid, startTicks: stat?.startTicks ?? null, bootId: core.bootId });
    core.emit('child.spawned', { id, pid, attempt: rt.record.current.attempt + 1 });
  }

  sendSignal(rt: ChildRuntime, signal: SignalName): void {
    const c = rt.record.current;
    if (c.pid === null) return;
    if (rt.handle === null) {
      // Not our child in this incarnation: never signal a pid that is not the recorded process.
      const probe = this.core.control.proc.probe(c.pid, c.startTicks);
      if (probe.status !== 'alive') {
        rt.logger.warn({ pid: c.pid, signal, probe: probe.status }, 'signal not sent: process is no longer the recorded one');
        return;
      }
    }
    const outcome = this.core.control.signal(c.pid, c.pgid, signal);
    if (outcome === 'denied') rt.logger.warn({ pid: c.pid, signal }, 'signal not permitted');
    else rt.logger.debug({ pid: c.pid, signal, outcome }, 'signal sent');
  }

  /**
   * SIGKILL to every live child's group at once, whatever the phase (a second SIGINT during a
   * shutdown). Returns the ids signalled; their exits are handled as usual.
   */
  killAll(): string[] {
    const core = this.core;
    const ids: string[] = [];
    for (const rt of core.liveChildren()) {
      const c = rt.record.current;
      if (c.pid === null || !c.isOperable) continue;
      if (rt.handle === null && core.control.proc.probe(c.pid, c.startTicks).status !== 'alive') continue;
      core.control.signal(c.pid, c.pgid, 'SIGKILL');
      ids.push(rt.record.spec.id);
    }
    if (ids.length > 0) core.audit({ kind: 'event', id: null, event: 'supervisor.kill_all', message: `SIGKILL to ${ids.join(', ')}` });
    return ids;
  }

  /** Processes of ours (by env marker) that lead their own group: the orphan scan. */
  scanMarked(): MarkedProcess[] {
    const core = this.core;
    const proc = core.control.proc;
    const out: MarkedProcess[] = [];
    for (const pid of proc.pids()) {
      if (pid === core.pid) continue;
      const env = proc.environ(pid);
      if (env === null || env[ENV_SUPERVISOR] !== core.markerKey) continue;
      const childId = env[ENV_SUPERVISED_ID];
      if (childId === undefined) continue;
      const stat = proc.readStat(pid);
      if (stat === null || stat.pgrp !== pid || isDeadState(stat.state)) continue;
      out.push({ pid, childId, pgid: stat.pgrp, startTicks: stat.startTicks, state: stat.state });
    }
    return out;
  }

  private onSpawnedExit(id: string, handle: SpawnHandle, pid: number, code: number | null, signal: string | null): void {
    const rt = this.core.children.get(id);
    if (rt === undefined || rt.handle !== handle) return;
    rt.handle = null;
    this.afterExit(rt, pid, code, signal, true);
  }

  /** An exit seen by event (spawned) or by polling (adopted, isKnown false). */
  private afterExit(rt: ChildRuntime, pid: number, code: number | null, signal: string | null, isKnown: boolean): void {
    const core = this.core;
    const id = rt.record.spec.id;
    const pgid = rt.record.current.pgid;
    // Whatever is left of the group (grandchildren) goes with its leader.
    if (pgid !== null && pgid === pid) core.control.signalGroup(pgid, 'SIGKILL');
    // An OOM kill by the kernel (cgroup v2 memory.max) is the run's breach: it is told first.
    core.resources.checkOom(rt);
    core.dispatch(id, { type: 'exited', pid, code, signal, isKnown });
    core.resources.releaseRun(rt);
    const after = core.children.get(id)?.record ?? rt.record;
    const last = after.current.lastExit;
    const isFailure = last !== null && last.classification !== 'requested' && last.classification !== 'clean';
    const stderrTail = isFailure ? rt.logs.tail('stderr', EXIT_STDERR_TAIL_LINES) : [];
    rt.logger.info({ pid, code, signal, isKnown, state: after.current.state, classification: last?.classification }, 'child exited');
    core.audit({
      kind: 'event',
      id,
      event: 'child.exited',
      message: last?.message ?? 'exited',
      data: { pid, code, signal, exit: isKnown ? (signal ?? code) : 'unknown', classification: last?.classification ?? null, stderr_tail: stderrTail },
    });
    core.emit('child.exited', { id, pid, code, signal, isKnown, state: after.current.state, classification: last?.classification ?? null, stderrTail });
  }

  /** The one shared /proc poll: exits of adopted children, external SIGSTOP/SIGCONT, log sizes. */
  private poll(): void {
    const core = this.core;
    if (core.phase !== 'running' && core.phase !== 'closing') return;
    const proc = core.control.proc;
    for (const rt of [...core.children.values()]) {
      const c = rt.record.current;
      if (c.pid === null || c.state === CHILD_STATES.UNKNOWN) continue;
      const probe = proc.probe(c.pid, c.startTicks);
      if (probe.status !== 'alive') {
        // Spawned children report their exit by event; only adopted ones are found dead here.
        if (rt.handle === null) this.afterExit(rt, c.pid, null, null, false);
        continue;
      }
      const isStopped = isStoppedState(probe.stat.state);
      if ((c.state === CHILD_STATES.RUNNING && isStopped) || (c.state === CHILD_STATES.SUSPENDED && !isStopped)) {
        core.dispatch(rt.record.spec.id, { type: 'probe', isStopped });
      }
    }
    const now = core.clock.nowMs();
    if (now - this.lastRotateCheckMs >= this.options.logRotateCheckMs) {
      this.lastRotateCheckMs = now;
      for (const rt of core.children.values()) {
        if (rt.record.current.pid === null) continue;
        rt.logs.rotateIfOversized().then(
          (rotated) => {
            if (rotated.length > 0) rt.logger.info({ rotated }, 'log files rotated');
          },
          (err: unknown) => rt.logger.warn({ err }, 'log rotation failed'),
        );
      }
    }
  }
}
