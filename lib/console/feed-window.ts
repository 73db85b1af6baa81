/**
 * A rolling window of one recorded feed (`record=true`) for live plots: the blocks of each
 * event (ocs-protocol §4.3, `block_name → {data, timestamps}`) appended per block, numeric fields
 * only, older samples than the window dropped. A plot reads one table per block (times, then one
 * column per chosen field), the shape uPlot takes.
 */
import { FeedEventArgsSchema, RecordedFeedMessageSchema } from '../feeds/feed-schemas.js';

/** Ten minutes, the default plot window. */
export const DEFAULT_WINDOW_S = 600;

/** `block/field`: a field is named by its block, since two blocks may share a field name. */
export type FieldKey = string;

export function fieldKey(block: string, field: string): FieldKey {
  return `${block}/${field}`;
}

interface BlockSeries {
  times: number[];
  columns: Map<string, (number | null)[]>;
}

export interface BlockTable {
  block: string;
  fields: string[];
  /** `[times, ...one column per field]` */
  data: [number[], ...(number | null)[][]];
}

export type FeedApplyResult = { ok: true; samples: number } | { ok: false; error: string };

function isAscending(times: readonly number[]): boolean {
  for (let i = 1; i < times.length; i++) if ((times[i] as number) < (times[i - 1] as number)) return false;
  return true;
}

function sortSeries(series: BlockSeries): void {
  const order = series.times.map((_, i) => i).sort((a, b) => (series.times[a] as number) - (series.times[b] as number));
  series.times = order.map((i) => series.times[i] as number);
  for (const [field, column] of series.columns) series.columns.set(field, order.map((i) => column[i] ?? null));
}

export class FeedWindow {
  private readonly blocks = new Map<string, BlockSeries>();
  /** samples appended since the window was made */
  sampleCount = 0;
  revision = 0;

  constructor(readonly windowS: number = DEFAULT_WINDOW_S) {}

  /** One EVENT of the feed: positional args `[[message, feed]]`. */
  applyEvent(args: unknown): FeedApplyResult {
    const parsed = FeedEventArgsSchema.safeParse(args);
    if (!parsed.success) return { ok: false, error: 'feed event is not [[message, feed]]' };
    const [[message, feed]] = parsed.data;
    if (feed.record !== true) return { ok: false, error: `feed ${feed.feed_name ?? '?'} is not recorded (record=false)` };
    return this.applyMessage(message);
  }

  /** One recorded message: block_name → block. */
  applyMessage(message: unknown): FeedApplyResult {
    const parsed = RecordedFeedMessageSchema.safeParse(message);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, error: `recorded feed message refused: ${issue === undefined ? '' : `${issue.path.join('.')}: ${issue.message}`}` };
    }
    let samples = 0;
    for (const [name, block] of Object.entries(parsed.data)) {
      let series = this.blocks.get(name);
      if (series === undefined) {
        series = { times: [], columns: new Map() };
        this.blocks.set(name, series);
      }
      const before = series.times.length;
      const n = block.timestamps.length;
      const isInOrder = n === 0 || before === 0 || (block.timestamps[0] as number) >= (series.times[before - 1] as number);
      for (const t of block.timestamps) series.times.push(t);
      for (const [field, values] of Object.entries(block.data)) {
        let column = series.columns.get(field);
        if (column === undefined) {
          column = new Array<number | null>(before).fill(null);
          series.columns.set(field, column);
        }
        for (const v of values) column.push(typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : null);
      }
      // a field missing from this message keeps its column aligned
      for (const [field, column] of series.columns) if (!(field in block.data)) for (let i = 0; i < n; i++) column.push(null);
      samples += n;
      // uPlot needs ascending times: a late or unsorted block (rare) puts the series back in order
      if (!isInOrder || !isAscending(block.timestamps)) sortSeries(series);
      this.trim(series);
    }
    this.sampleCount += samples;
    this.revision++;
    return { ok: true, samples };
  }

  /** Every field seen, as `block/field`. */
  fieldKeys(): FieldKey[] {
    const keys: FieldKey[] = [];
    for (const [block, series] of this.blocks) for (const field of series.columns.keys()) keys.push(fieldKey(block, field));
    return keys.sort();
  }

  /** One table per block holding a chosen field, in the order first seen. */
  tables(chosen: readonly FieldKey[]): BlockTable[] {
    const tables: BlockTable[] = [];
    for (const [block, series] of this.blocks) {
      const fields = [...series.columns.keys()].filter((f) => chosen.includes(fieldKey(block, f)));
      if (fields.length === 0) continue;
      tables.push({ block, fields, data: [series.times.slice(), ...fields.map((f) => (series.columns.get(f) as (number | null)[]).slice())] });
    }
    return tables;
  }

  /** Samples held now, over all blocks. */
  heldSamples(): number {
    let n = 0;
    for (const series of this.blocks.values()) n += series.times.length;
    return n;
  }

  private trim(series: BlockSeries): void {
    const last = series.times[series.times.length - 1];
    if (last === undefined) return;
    const oldest = last - this.windowS;
    let drop = 0;
    while (drop < series.times.length && (series.times[drop] as number) < oldest) drop++;
    if (drop === 0) return;
    series.times.splice(0, drop);
    for (const column of series.columns.values()) column.splice(0, drop);
  }
}
