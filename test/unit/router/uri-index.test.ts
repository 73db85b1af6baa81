import { describe, expect, it } from 'vitest';
import { UriIndex } from '../../../lib/router/uri-index.js';
import type { MatchPolicy } from '../../../lib/router/messages.js';

const e = (uri: string, match: MatchPolicy) => ({ uri, match });

describe('UriIndex', () => {
  it('collects exact, plain-string prefix and same-length wildcard matches', () => {
    const idx = new UriIndex<{ uri: string; match: MatchPolicy }>();
    const entries = [e('com.a.emergency', 'exact'), e('com.a.emergency', 'prefix'), e('com.a.', 'prefix'), e('com..emergency', 'wildcard'), e('com.a.', 'wildcard'), e('x', 'prefix')];
    for (const x of entries) idx.add(x);
    const hits = (uri: string) => {
      const out: { uri: string; match: MatchPolicy }[] = [];
      idx.collect(uri, out);
      return out.map((o) => `${o.match}:${o.uri}`).sort();
    };
    expect(hits('com.a.emergency')).toEqual(['exact:com.a.emergency', 'prefix:com.a.', 'prefix:com.a.emergency', 'wildcard:com..emergency', 'wildcard:com.a.'].sort());
    expect(hits('com.a.emergency-low')).toEqual(['prefix:com.a.', 'prefix:com.a.emergency', 'wildcard:com.a.'].sort());
    expect(hits('com.a.emergency.fire')).toEqual(['prefix:com.a.', 'prefix:com.a.emergency'].sort());
    expect(hits('org.a')).toEqual([]);
    expect(idx.best('com.a.emergency')).toBe(entries[0]);
    expect(idx.best('com.a.emergency-low')).toBe(entries[1]);
    expect(idx.best('com.b.emergency')).toBe(entries[3]);
    idx.remove(entries[1]!);
    expect(idx.best('com.a.emergency-low')).toBe(entries[2]);
    expect(idx.get('com..emergency', 'wildcard')).toBe(entries[3]);
    idx.remove(entries[3]!);
    expect(idx.get('com..emergency', 'wildcard')).toBeUndefined();
    expect(idx.entries().exact).toHaveLength(1);
  });
});
