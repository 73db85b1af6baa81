import type { MatchPolicy } from './messages.js';

/** Something stored under a (uri, match) pair: a subscription, a registration or a permission. */
export interface UriEntry {
  readonly uri: string;
  readonly match: MatchPolicy;
}

interface WildcardEntry<T> {
  entry: T;
  components: string[];
  /** number of non-empty components: the more, the more specific */
  fixed: number;
}

function componentCount(uri: string): number {
  let n = 1;
  for (let i = 0; i < uri.length; i++) if (uri.charCodeAt(i) === 46) n++;
  return n;
}

/**
 * Entries indexed three ways: an exact Map; a prefix Map probed once per distinct prefix length
 * (plain string prefixes, as crossbar: `com.a.emergency` matches `com.a.emergency-low`); and
 * wildcard patterns grouped by component count (an empty component matches exactly one).
 */
export class UriIndex<T extends UriEntry> {
  private readonly exact = new Map<string, T>();
  private readonly prefix = new Map<string, T>();
  /** distinct prefix lengths, longest first, with how many prefixes have each */
  private prefixLengths: number[] = [];
  private readonly prefixLengthCounts = new Map<number, number>();
  private readonly wildcard = new Map<number, WildcardEntry<T>[]>();
  private wildcardCount = 0;

  get size(): number {
    return this.exact.size + this.prefix.size + this.wildcardCount;
  }

  get(uri: string, match: MatchPolicy): T | undefined {
    if (match === 'exact') return this.exact.get(uri);
    if (match === 'prefix') return this.prefix.get(uri);
    const list = this.wildcard.get(componentCount(uri));
    if (list) for (const w of list) if (w.entry.uri === uri) return w.entry;
    return undefined;
  }

  add(entry: T): void {
    if (entry.match === 'exact') {
      this.exact.set(entry.uri, entry);
    } else if (entry.match === 'prefix') {
      this.prefix.set(entry.uri, entry);
      const len = entry.uri.length;
      const c = this.prefixLengthCounts.get(len) ?? 0;
      this.prefixLengthCounts.set(len, c + 1);
      if (c === 0) this.prefixLengths = [...this.prefixLengthCounts.keys()].sort((a, b) => b - a);
    } else {
      const components = entry.uri.split('.');
      let fixed = 0;
      for (const c of components) if (c !== '') fixed++;
      let list = this.wildcard.get(components.length);
      if (!list) {
        list = [];
        this.wildcard.set(components.length, list);
      }
      list.push({ entry, components, fixed });
      this.wildcardCount++;
    }
  }

  remove(entry: T): void {
    if (entry.match === 'exact') {
      if (this.exact.get(entry.uri) === entry) this.exact.delete(entry.uri);
    } else if (entry.match === 'prefix') {
      if (this.prefix.get(entry.uri) !== entry) return;
      this.prefix.delete(entry.uri);
      const len = entry.uri.length;
      const c = (this.prefixLengthCounts.get(len) ?? 1) - 1;
      if (c <= 0) {
        this.prefixLengthCounts.delete(len);
        this.prefixLengths = [...this.prefixLengthCounts.keys()].sort((a, b) => b - a);
      } else this.prefixLengthCounts.set(len, c);
    } else {
      const n = componentCount(entry.uri);
      const list = this.wildcard.get(n);
      if (!list) return;
      const i = list.findIndex((w) => w.entry === entry);
      if (i < 0) return;
      list.splice(i, 1);
      this.wildcardCount--;
      if (list.length === 0) this.wildcard.delete(n);
    }
  }

  /** Appends every entry matching `uri` to `out` (exact, then prefixes, then wildcards). */
  collect(uri: string, out: T[]): void {
    const e = this.exact.get(uri);
    if (e !== undefined) out.push(e);
    const lengths = this.prefixLengths;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      if (len > uri.length) continue;
      const p = this.prefix.get(len === uri.length ? uri : uri.slice(0, len));
      if (p !== undefined) out.push(p);
    }
    if (this.wildcardCount > 0) {
      const list = this.wildcard.get(componentCount(uri));
      if (list) {
        const parts = uri.split('.');
        for (let i = 0; i < list.length; i++) if (matchesComponents(list[i]!.components, parts)) out.push(list[i]!.entry);
      }
    }
  }

  /** The best match for `uri`: exact, else the longest prefix, else the most specific wildcard. */
  best(uri: string): T | undefined {
    const e = this.exact.get(uri);
    if (e !== undefined) return e;
    const lengths = this.prefixLengths;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      if (len > uri.length) continue;
      const p = this.prefix.get(len === uri.length ? uri : uri.slice(0, len));
      if (p !== undefined) return p;
    }
    if (this.wildcardCount === 0) return undefined;
    const list = this.wildcard.get(componentCount(uri));
    if (!list) return undefined;
    const parts = uri.split('.');
    let best: WildcardEntry<T> | undefined;
    for (const w of list) {
      if (!matchesComponents(w.components, parts)) continue;
      if (best === undefined || w.fixed > best.fixed || (w.fixed === best.fixed && firstEmpty(w.components) > firstEmpty(best.components))) best = w;
    }
    return best?.entry;
  }

  /** Every entry, by match policy. */
  entries(): { exact: T[]; prefix: T[]; wildcard: T[] } {
    const wildcard: T[] = [];
    for (const list of this.wildcard.values()) for (const w of list) wildcard.push(w.entry);
    return { exact: [...this.exact.values()], prefix: [...this.prefix.values()], wildcard };
  }
}

function firstEmpty(components: string[]): number {
  const i = components.indexOf('');
  return i < 0 ? components.length : i;
}

function matchesComponents(pattern: string[], parts: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p !== '' && p !== parts[i]) return false;
  }
  return true;
}
