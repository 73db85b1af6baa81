import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { ChildRecordSchema } from './child-record.js';

/**
 * The supervisor's state file (`<stateDir>/sup-NN.json`): desired and current state of every
 * child, versioned, validated with zod on load. Writes are atomic: temp file + fsync, the old
 * file hard-linked to `.prev`, rename over, fsync of the directory. A file that fails to parse
 * is reported and moved aside (`.corrupt-<ms>`), then `.prev` is tried; nothing here throws on
 * bad content.
 */

export const STATE_SCHEMA_VERSION = 1;

export const SupervisorStateSchema = z
  .object({
    schema: z.literal(STATE_SCHEMA_VERSION),
    supervisor: z
      .object({
        supervisorId: z.string(),
        instanceIndex: z.number().int().min(0).max(99),
        pid: z.number().int(),
        startTicks: z.number().nullable(),
        bootId: z.string(),
        seq: z.number().int().nonnegative(),
        writtenAtMs: z.number(),
      })
      .strict(),
    children: z.record(z.string(), ChildRecordSchema),
  })
  .strict();
export type SupervisorState = z.infer<typeof SupervisorStateSchema>;

export interface LoadResult {
  state: SupervisorState | null;
  /** Which file the state came from. */
  source: 'main' | 'prev' | 'none';
  /** Human-readable problems (corrupt files moved aside, leftovers removed). */
  problems: string[];
}

export class StateStore {
  readonly prevPath: string;
  readonly tmpPath: string;

  constructor(readonly path: string) {
    this.prevPath = `${path}.prev`;
    this.tmpPath = `${path}.tmp`;
  }

  load(nowMs: number): LoadResult {
    const problems: string[] = [];
    if (existsSync(this.tmpPath)) {
      try {
        unlinkSync(this.tmpPath);
        problems.push(`removed an unfinished write ${basename(this.tmpPath)}`);
      } catch {
        // best effort
      }
    }
    for (const [path, source] of [
      [this.path, 'main'],
      [this.prevPath, 'prev'],
    ] as const) {
      const result = this.readOne(path, nowMs);
      if (result.state !== null) return { state: result.state, source, problems: [...problems, ...result.problems] };
      problems.push(...result.problems);
    }
    return { state: null, source: 'none', problems };
  }

  private readOne(path: string, nowMs: number): { state: SupervisorState | null; problems: string[] } {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null, problems: [] };
      return { state: null, problems: [`cannot read ${path}: ${(err as Error).message}`] };
    }
    let problem: string;
    try {
      const parsed = SupervisorStateSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { state: parsed.data, problems: [] };
      problem = `invalid state file ${path}: ${z.prettifyError(parsed.error).split('\n').slice(0, 6).join('; ')}`;
    } catch (err) {
      problem = `corrupt state file ${path}: ${(err as Error).message}`;
    }
    const aside = `${path}.corrupt-${nowMs}`;
    try {
      renameSync(path, aside);
      problem += `; moved aside to ${basename(aside)}`;
    } catch {
      // leave it
    }
    return { state: null, problems: [problem] };
  }

  save(state: SupervisorState): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const fd = openSync(this.tmpPath, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (existsSync(this.path)) {
      try {
        unlinkSync(this.prevPath);
      } catch {
        // none yet
      }
      linkSync(this.path, this.prevPath);
    }
    renameSync(this.tmpPath, this.path);
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}
