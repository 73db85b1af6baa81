import { closeSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { tailFile } from './log-files.js';

/**
 * The audit trail: every transition and every request, one JSON object per line in
 * `<stateDir>/history-NN.jsonl`, rotated by size (`.1` … `.keep`), plus an in-memory ring of the
 * newest records for session data. Sequence numbers continue across restarts and give the
 * order even when wall-clock timestamps step back.
 */

export const HISTORY_KINDS = ['transition', 'request', 'event'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

export interface HistoryRecord {
  seq: number;
  /** Wall time, ms. */
  atMs: number;
  kind: HistoryKind;
  /** Child id, or null for supervisor-wide records. */
  id: string | null;
  /** transition */
  from?: string;
  to?: string;
  cause?: string;
  pid?: number | null;
  /** request */
  verb?: string;
  params?: Record<string, unknown>;
  ok?: boolean;
  /** request reply or event text */
  message?: string;
  /** event name, e.g. child.exited, store.problem */
  event?: string;
  data?: Record<string, unknown>;
}

export type HistoryInput = Omit<HistoryRecord, 'seq'>;

export interface HistoryLogOptions {
  maxBytes?: number;
  keep?: number;
  ringSize?: number;
}

export class HistoryLog {
  private fd: number | null = null;
  private sizeBytes = 0;
  private seq = 0;
  private readonly ring: HistoryRecord[] = [];
  readonly maxBytes: number;
  readonly keep: number;
  readonly ringSize: number;

  constructor(
    readonly path: string,
    options: HistoryLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.keep = options.keep ?? 2;
    this.ringSize = options.ringSize ?? 200;
  }

  open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const last = tailFile(this.path, 1)[0];
    if (last !== undefined) {
      try {
        const rec = JSON.parse(last) as { seq?: unknown };
        if (typeof rec.seq === 'number') this.seq = rec.seq;
      } catch {
        // a torn last line: start after it anyway
      }
    }
    this.fd = openSync(this.path, 'a');
    try {
      this.sizeBytes = statSync(this.path).size;
    } catch {
      this.sizeBytes = 0;
    }
  }

  append(input: HistoryInput): HistoryRecord {
    this.seq += 1;
    const rec: HistoryRecord = { seq: this.seq, ...input };
    this.ring.push(rec);
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize);
    if (this.fd !== null) {
      const line = `${JSON.stringify(rec)}\n`;
      try {
        this.sizeBytes += writeSync(this.fd, line);
        if (this.sizeBytes > this.maxBytes) this.rotate();
      } catch {
        // the audit file must never take the supervisor down
      }
    }
    return rec;
  }

  private rotate(): void {
    if (this.fd !== null) closeSync(this.fd);
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch {
        // missing
      }
    }
    if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, this.keep > 0 ? 'a' : 'w');
    this.sizeBytes = 0;
  }

  /** Newest records, oldest first. */
  recent(limit = this.ringSize): HistoryRecord[] {
    return this.ring.slice(-limit);
  }

  close(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // closed
      }
      this.fd = null;
    }
  }
}
