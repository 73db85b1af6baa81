/** Latency samples in milliseconds, kept in a growable Float64Array (no per-sample allocation). */
export class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  private size = 0;

  get count(): number {
    return this.size;
  }

  add(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  clear(): void {
    this.size = 0;
  }

  summary(): LatencySummary {
    return summarize(this.samples.subarray(0, this.size));
  }
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: Float64Array): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : NaN };
}
