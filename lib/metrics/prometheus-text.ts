/** Reads the Prometheus text format back: each sample line (`name{labels} value`) by its series text. */
export function parsePrometheusText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (at <= 0) continue;
    const value = Number(line.slice(at + 1));
    if (!Number.isNaN(value)) out.set(line.slice(0, at), value);
  }
  return out;
}

/** The sum of every series of `name` whose labels contain all of `labels` (`{state="RUNNING"}` style pairs). */
export function sumOf(samples: ReadonlyMap<string, number>, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const [series, value] of samples) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (wanted.every((w) => series.includes(w))) sum += value;
  }
  return sum;
}

/** A quantile from a histogram's cumulative buckets (`<name>_bucket{le=...}`), as PromQL's histogram_quantile on one sample. */
export function histogramQuantile(samples: ReadonlyMap<string, number>, name: string, q: number): number | null {
  const buckets: [number, number][] = [];
  for (const [series, value] of samples) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)"`).exec(series);
    if (m) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), value]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1e-12, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
