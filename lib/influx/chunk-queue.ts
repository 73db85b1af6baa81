/** The InfluxWriter's queue: chunks of line-protocol points waiting to be written, taken in batches. */

/** Lines enqueued together, with their point count. */
export interface Chunk {
  text: string;
  points: number;
  enqueuedAtMs: number;
}

/** The chunks of one write request; `body` is their text joined, made once and kept for retries. */
export interface Batch {
  chunks: Chunk[];
  points: number;
  body: string | undefined;
}

/** FIFO of chunks with O(1) shift (a moving head, compacted now and then). */
export class ChunkQueue {
  private items: Chunk[] = [];
  private head = 0;
  points = 0;

  get isEmpty(): boolean {
    return this.head >= this.items.length;
  }

  push(chunk: Chunk): void {
    this.items.push(chunk);
    this.points += chunk.points;
  }

  peek(): Chunk | undefined {
    return this.items[this.head];
  }

  shift(): Chunk | undefined {
    const chunk = this.items[this.head];
    if (!chunk) return undefined;
    this.items[this.head] = undefined as unknown as Chunk;
    this.head++;
    this.points -= chunk.points;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return chunk;
  }

  /** Takes chunks from the front up to `maxPoints` (always at least one chunk). */
  takeBatch(maxPoints: number): Batch | undefined {
    const chunks: Chunk[] = [];
    let points = 0;
    for (let next = this.peek(); next && (chunks.length === 0 || points + next.points <= maxPoints); next = this.peek()) {
      chunks.push(this.shift()!);
      points += next.points;
    }
    return chunks.length === 0 ? undefined : { chunks, points, body: undefined };
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.points = 0;
  }
}
