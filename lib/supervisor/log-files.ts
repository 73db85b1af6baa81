import { closeSync, existsSync, fstatSync, linkSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { copyFile, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Per-child stdout/stderr files: `<dir>/<id>.out.log` and `<id>.err.log`, opened by the
 * supervisor with O_APPEND and handed to the child as its fds, so the child never depends on
 * the supervisor (no pipe, no SIGPIPE). Rotation by size: at each (re)start when above
 * maxBytes (rename), and while running when above 2 × maxBytes (copy, then truncate; lines
 * written between the copy and the truncate are lost). The copy is made under a temporary name
 * and renamed into place, so `<file>.1` only ever appears whole, and once it exists it never
 * disappears during a rotation (the older copies are shifted up by hard link and rename).
 */

export const LOG_STREAMS = ['stdout', 'stderr'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

export interface LogPolicy {
  maxBytes: number;
  keep: number;
}

export interface RunFds {
  stdoutFd: number;
  stderrFd: number;
}

/** Most bytes read from the end of a file for a tail. */
export const TAIL_MAX_BYTES = 1024 * 1024;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Shifts `<path>.1` … `<path>.(keep-1)` up by one, dropping the last. Each copy is hard-linked
 * under a temporary name that is then renamed over the next number, so no `<path>.i` is ever
 * missing: `<path>.i` keeps its old content until the caller (or the next step) replaces it with
 * one rename. Where hard links are not supported, the copy is simply renamed.
 */
function shiftRotated(path: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    const from = `${path}.${i}`;
    if (!existsSync(from)) continue;
    const to = `${path}.${i + 1}`;
    const link = `${to}.shifting`;
    try {
      rmSync(link, { force: true });
      linkSync(from, link);
    } catch {
      renameSync(from, to);
      continue;
    }
    renameSync(link, to);
  }
}

/** The last `lines` lines of a file (reads at most TAIL_MAX_BYTES from its end). */
export function tailFile(path: string, lines: number): string[] {
  if (lines <= 0) return [];
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    let chunk = Math.min(size, 16 * 1024);
    for (;;) {
      const start = size - chunk;
      const buf = Buffer.alloc(chunk);
      readSync(fd, buf, 0, chunk, start);
      const text = buf.toString('utf8');
      const all = text.split('\n');
      if (all.length > 0 && all[all.length - 1] === '') all.pop();
      // The first piece may be a partial line unless we read from the start.
      if (all.length > lines || start === 0 || chunk >= TAIL_MAX_BYTES) {
        const usable = start === 0 ? all : all.slice(1);
        return usable.slice(-lines);
      }
      chunk = Math.min(size, chunk * 4, TAIL_MAX_BYTES);
    }
  } finally {
    closeSync(fd);
  }
}

export class ChildLogFiles {
  readonly stdoutPath: string;
  readonly stderrPath: string;
  private isRotating = false;

  constructor(
    readonly dir: string,
    readonly id: string,
    readonly policy: LogPolicy,
  ) {
    this.stdoutPath = join(dir, `${id}.out.log`);
    this.stderrPath = join(dir, `${id}.err.log`);
  }

  pathOf(stream: LogStream): string {
    return stream === 'stdout' ? this.stdoutPath : this.stderrPath;
  }

  /** Rotates oversized files and opens both for a new run. The caller closes the fds after spawn. */
  openForRun(): RunFds {
    mkdirSync(this.dir, { recursive: true });
    for (const path of [this.stdoutPath, this.stderrPath]) {
      if (sizeOf(path) > this.policy.maxBytes) this.rotateByRename(path);
    }
    const stdoutFd = openSync(this.stdoutPath, 'a');
    try {
      const stderrFd = openSync(this.stderrPath, 'a');
      return { stdoutFd, stderrFd };
    } catch (err) {
      closeSync(stdoutFd);
      throw err;
    }
  }

  static closeFds(fds: RunFds): void {
    for (const fd of [fds.stdoutFd, fds.stderrFd]) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  private rotateByRename(path: string): void {
    if (this.policy.keep === 0) {
      truncateSync(path, 0);
      return;
    }
    shiftRotated(path, this.policy.keep);
    renameSync(path, `${path}.1`);
  }

  /** While the child runs: copy-then-truncate files above 2 × maxBytes. Returns the rotated paths. */
  async rotateIfOversized(): Promise<string[]> {
    if (this.isRotating) return [];
    this.isRotating = true;
    const rotated: string[] = [];
    try {
      for (const path of [this.stdoutPath, this.stderrPath]) {
        if (sizeOf(path) <= 2 * this.policy.maxBytes) continue;
        if (this.policy.keep > 0) {
          const partial = `${path}.rotating`;
          try {
            await copyFile(path, partial);
          } catch (err) {
            await rm(partial, { force: true });
            throw err;
          }
          shiftRotated(path, this.policy.keep);
          await rename(partial, `${path}.1`);
        }
        await truncate(path, 0);
        rotated.push(path);
      }
    } finally {
      this.isRotating = false;
    }
    return rotated;
  }

  tail(stream: LogStream, lines: number): string[] {
    return tailFile(this.pathOf(stream), lines);
  }
}
