import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError, InstanceLockedError } from '../errors.js';
import type { ProcIdentity } from './proc-identity.js';

/**
 * One supervisor per state file: an exclusive lock file (`sup-NN.lock`, created with O_EXCL)
 * holding the owner's pid, start time and boot id. A lock whose owner is gone (or whose pid now
 * belongs to another process, or from before a reboot) is stale and taken over; a live one
 * refuses with a ConfigError naming the holder.
 */

export const LockContentSchema = z.object({
  pid: z.number().int(),
  startTicks: z.number().nullable(),
  bootId: z.string(),
  acquiredAtMs: z.number(),
});
export type LockContent = z.infer<typeof LockContentSchema>;

export interface LockOwner {
  pid: number;
  startTicks: number | null;
  bootId: string;
}

const MAX_ATTEMPTS = 5;

function readLock(path: string): LockContent | null | 'missing' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const parsed = LockContentSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // unreadable content: a crash while writing it
  }
}

function sameContent(a: LockContent | null, b: LockContent | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class InstanceLock {
  private isHeld = true;

  private constructor(
    readonly path: string,
    readonly content: LockContent,
    /** Set when a stale lock was taken over. */
    readonly takenOverFrom: LockContent | null,
  ) {}

  /** Whether the holder recorded in `content` is a live process (same boot, same start time). */
  static isLive(content: LockContent, proc: ProcIdentity): boolean {
    if (content.bootId !== proc.bootId()) return false;
    return proc.probe(content.pid, content.startTicks).status === 'alive';
  }

  static acquire(path: string, owner: LockOwner, proc: ProcIdentity, nowMs: number): InstanceLock {
    mkdirSync(dirname(path), { recursive: true });
    const content: LockContent = { pid: owner.pid, startTicks: owner.startTicks, bootId: owner.bootId, acquiredAtMs: nowMs };
    let takenOverFrom: LockContent | null = null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, 'wx', 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readLock(path);
        if (holder === 'missing') continue;
        if (holder !== null && InstanceLock.isLive(holder, proc)) {
          if (holder.pid === owner.pid && holder.startTicks === owner.startTicks) {
            throw new ConfigError(`supervisor lock ${path} is already held by this process`, { details: { path } });
          }
          throw new InstanceLockedError(`another HostManager (pid ${holder.pid}) holds ${path}; stop it first or use another instance index`, {
            details: { path, holderPid: holder.pid },
          });
        }
        // Stale: move it out of the way atomically, check that what we moved is what we judged.
        const aside = `${path}.stale-${owner.pid}`;
        try {
          renameSync(path, aside);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        const moved = readLock(aside);
        if (moved !== 'missing' && !sameContent(moved, holder) && moved !== null && InstanceLock.isLive(moved, proc)) {
          // A contender took it between our read and the rename: give it back.
          try {
            renameSync(aside, path);
          } catch {
            // it will be judged again
          }
          continue;
        }
        try {
          unlinkSync(aside);
        } catch {
          // gone already
        }
        takenOverFrom = holder;
        continue;
      }
      try {
        writeSync(fd, JSON.stringify(content));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return new InstanceLock(path, content, takenOverFrom);
    }
    throw new ConfigError(`could not acquire supervisor lock ${path} (contended)`, { details: { path } });
  }

  /** Removes the lock file if it is still ours. */
  release(): void {
    if (!this.isHeld) return;
    this.isHeld = false;
    const now = readLock(this.path);
    if (now !== 'missing' && sameContent(now, this.content)) {
      try {
        unlinkSync(this.path);
      } catch {
        // gone
      }
    }
  }
}
