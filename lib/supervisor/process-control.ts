import { spawn as spawnChild } from 'node:child_process';
import type { SignalName } from './child-record.js';
import { ProcIdentity } from './proc-identity.js';

/**
 * Process control: spawn detached (own session and process group, stdio on files, unref'd so a
 * SIGKILLed supervisor leaves it running), signal a process group, check permission. Behind an
 * interface so the supervisor can run on a fake in unit tests.
 */

export interface SpawnRequest {
  cmd: string[];
  cwd: string | null;
  env: Record<string, string>;
  stdoutFd: number;
  stderrFd: number;
}

export interface SpawnHandle {
  /** null when the spawn failed; the error then arrives through onError. */
  readonly pid: number | null;
  /** Called exactly once when the process exits (only for a spawned pid). */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Spawn errors (ENOENT, EACCES, EAGAIN, …); for a failed spawn this is the only event. */
  onError(listener: (err: Error) => void): void;
  /** Drops the listeners; the process keeps running (disown, supervisor shutdown). */
  detach(): void;
}

/** sent: delivered; gone: no such process; denied: not ours to signal (EPERM). */
export type SignalOutcome = 'sent' | 'gone' | 'denied';

export interface ProcessControl {
  readonly proc: ProcIdentity;
  spawn(req: SpawnRequest): SpawnHandle;
  /** Signals the whole group when the process leads its own group (pgid === pid), else the pid. */
  signal(pid: number, pgid: number | null, signal: SignalName): SignalOutcome;
  /** Signals what is left of a process group (grandchildren) once its leader has exited. */
  signalGroup(pgid: number, signal: SignalName): SignalOutcome;
  /** kill(pid, 0): false when the process belongs to someone else (EPERM) or is gone. */
  isPermitted(pid: number): boolean;
}

function outcomeOf(err: unknown): SignalOutcome {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EPERM') return 'denied';
  return 'gone';
}

class FailedSpawn implements SpawnHandle {
  readonly pid = null;
  private isDetached = false;
  constructor(private readonly error: Error) {}
  onExit(): void {}
  onError(listener: (err: Error) => void): void {
    setImmediate(() => {
      if (!this.isDetached) listener(this.error);
    });
  }
  detach(): void {
    this.isDetached = true;
  }
}

export class NodeProcessControl implements ProcessControl {
  constructor(readonly proc: ProcIdentity = new ProcIdentity()) {}

  spawn(req: SpawnRequest): SpawnHandle {
    const [file, ...args] = req.cmd;
    if (file === undefined) return new FailedSpawn(new Error('empty command'));
    let child: ReturnType<typeof spawnChild>;
    try {
      child = spawnChild(file, args, {
        detached: true,
        cwd: req.cwd ?? undefined,
        env: req.env,
        stdio: ['ignore', req.stdoutFd, req.stderrFd],
      });
    } catch (err) {
      return new FailedSpawn(err as Error);
    }
    child.unref();
    const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
    const errorListeners: ((err: Error) => void)[] = [];
    let isDetached = false;
    child.once('exit', (code, signal) => {
      if (!isDetached) for (const l of exitListeners) l(code, signal);
    });
    child.on('error', (err) => {
      if (!isDetached) for (const l of errorListeners) l(err);
    });
    return {
      pid: child.pid ?? null,
      onExit: (l) => void exitListeners.push(l),
      onError: (l) => void errorListeners.push(l),
      detach: () => {
        isDetached = true;
      },
    };
  }

  signal(pid: number, pgid: number | null, signal: SignalName): SignalOutcome {
    if (pgid !== null && pgid === pid) {
      try {
        process.kill(-pgid, signal);
        return 'sent';
      } catch (err) {
        if (outcomeOf(err) === 'denied') return 'denied';
        // The group may be gone while the pid lingers: fall through to the pid.
      }
    }
    try {
      process.kill(pid, signal);
      return 'sent';
    } catch (err) {
      return outcomeOf(err);
    }
  }

  signalGroup(pgid: number, signal: SignalName): SignalOutcome {
    try {
      process.kill(-pgid, signal);
      return 'sent';
    } catch (err) {
      return outcomeOf(err);
    }
  }

  isPermitted(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
