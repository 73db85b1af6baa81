/**
 * Sizes and shares in the site file's `supervise:` limits: `memory-max` as bytes or with a
 * K/M/G/T suffix (powers of 1024, as systemd's `MemoryMax=`), `cpu-max` as a percentage of one
 * core (`80%`, as `CPUQuota=`). Pure parsing, one message per kind of mistake.
 */

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes from `536870912`, `'512M'`, `'1.5G'`, `'64K'` (an optional trailing `B`/`iB` is accepted); null when not a size. */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
  if (m === null) return null;
  const unit = SIZE_UNITS[(m[2] ?? '').toUpperCase()];
  if (unit === undefined) return null;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** Percent of one core from `'80%'`, `'250%'` (several cores) or a bare number `80`; null when not a share. */
export function parsePercent(value: unknown): number | null {
  let pct = NaN;
  if (typeof value === 'number') pct = value;
  else if (typeof value === 'string') pct = Number(/^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value)?.[1] ?? NaN);
  return Number.isFinite(pct) && pct > 0 ? pct : null;
}

/** `612 MB`, `1.5 GB`, `900 KB`, `12 B`: powers of 1024, the unit the limit was probably written in. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const text = i === 0 || v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[i]}`;
}
