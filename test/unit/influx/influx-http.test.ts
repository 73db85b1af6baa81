import { describe, expect, it, vi } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { InfluxHttp, InfluxHttpError, classifyWriteResponse, countRejectedPoints, quoteIdentifier } from '../../../lib/influx/influx-http.js';
import { influxTargetFromArgs, InfluxPublisherArgsSchema } from '../../../lib/influx/influx-publisher.js';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | string | undefined;
}

function fakeFetch(respond: (seen: Seen) => Response | Promise<Response>): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const s: Seen = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(Object.entries((init?.headers as Record<string, string>) ?? {})),
      body: init?.body as Uint8Array | string | undefined,
    };
    seen.push(s);
    return await respond(s);
  }) as typeof fetch;
  return { fetch: fn, seen };
}

describe('InfluxHttp', () => {
  it('writes to the 1.x endpoint with ns precision, retention policy and basic auth', async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    const http = new InfluxHttp({
      target: { version: 1, url: 'http://influxdb:8086/', database: 'ocs feeds', retentionPolicy: 'week', username: 'u', password: 'p' },
      fetch,
    });
    await http.write('m,feed=f x=1i 1');
    expect(seen[0]).toMatchObject({
      url: 'http://influxdb:8086/write?db=ocs+feeds&precision=ns&rp=week',
      method: 'POST',
      body: 'm,feed=f x=1i 1',
    });
    expect(seen[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('writes to the 2.x endpoint with the token', async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    const http = new InfluxHttp({ target: { version: 2, url: 'http://influx:8086', org: 'obs', bucket: 'ocs_feeds', token: 'tok' }, fetch });
    await http.write('m x=1 1');
    expect(seen[0]!.url).toBe('http://influx:8086/api/v2/write?org=obs&bucket=ocs_feeds&precision=ns');
    expect(seen[0]!.headers['authorization']).toBe('Token tok');
    await http.createDatabase();
    expect(seen).toHaveLength(1);
  });

  it('gzips the body when asked', async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    const http = new InfluxHttp({ target: { version: 1, url: 'http://i:8086', database: 'd' }, fetch, shouldGzip: true });
    await http.write('m x=1.5 1\nm x=2.5 2');
    expect(seen[0]!.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(seen[0]!.body as Uint8Array).toString()).toBe('m x=1.5 1\nm x=2.5 2');
  });

  it('turns connection failures into retryable unreachable errors', async () => {
    const { fetch } = fakeFetch(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    });
    const http = new InfluxHttp({ target: { version: 1, url: 'http://127.0.0.1:1', database: 'd' }, fetch });
    const err = await http.write('m x=1 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfluxHttpError);
    expect(err).toMatchObject({ kind: 'unreachable', isRetryable: true });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('aborts a request that gets no answer in time', async () => {
    vi.useFakeTimers();
    try {
      const hanging = (async (_input: string | URL | Request, init?: RequestInit) =>
        await new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))) as typeof fetch;
      const http = new InfluxHttp({ target: { version: 1, url: 'http://i:8086', database: 'd' }, fetch: hanging, requestTimeoutMs: 2000 });
      const outcome = http.write('m x=1 1').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(2000);
      expect(await outcome).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('no answer within 2000 ms') });
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs queries and creates databases with a quoted name', async () => {
    const { fetch, seen } = fakeFetch(() => Response.json({ results: [{ statement_id: 0, series: [{ name: 'm', columns: ['time', 'x'], values: [[1, 2]] }] }] }));
    const http = new InfluxHttp({ target: { version: 1, url: 'http://i:8086', database: 'ocs_feeds' }, fetch });
    const results = await http.query('SELECT x FROM m');
    expect(results[0]!.series![0]!.values).toEqual([[1, 2]]);
    expect(new URLSearchParams(seen[0]!.body as string).get('db')).toBe('ocs_feeds');
    await http.createDatabase();
    expect(new URLSearchParams(seen[1]!.body as string).get('q')).toBe('CREATE DATABASE "ocs_feeds"');
  });

  it('throws when a query statement fails', async () => {
    const { fetch } = fakeFetch(() => Response.json({ results: [{ statement_id: 0, error: 'database not found: x' }] }));
    const http = new InfluxHttp({ target: { version: 1, url: 'http://i:8086', database: 'x' }, fetch });
    await expect(http.query('SELECT 1')).rejects.toThrow(/database not found/);
  });
});

describe('classifyWriteResponse', () => {
  it('maps statuses to retryable and refused kinds', () => {
    expect(classifyWriteResponse(404, '{"error":"database not found: \\"d\\""}')).toMatchObject({ kind: 'database_not_found', isRetryable: true });
    expect(classifyWriteResponse(401, '{"error":"authorization failed"}')).toMatchObject({ kind: 'auth', isRetryable: true });
    expect(classifyWriteResponse(503, 'busy')).toMatchObject({ kind: 'server', isRetryable: true });
    expect(classifyWriteResponse(429, '')).toMatchObject({ kind: 'server', isRetryable: true });
    const refused = classifyWriteResponse(400, '{"error":"partial write: field type conflict: input field \\"x\\" on measurement \\"m\\" is type integer, already exists as type float dropped=3"}');
    expect(refused).toMatchObject({ kind: 'rejected', isRetryable: false, rejectedPoints: 3, status: 400 });
    expect(refused.message).toContain('field type conflict');
    expect(classifyWriteResponse(400, '{"code":"invalid","message":"unable to parse \'x\': bad"}')).toMatchObject({ rejectedPoints: 1 });
  });
});

describe('countRejectedPoints', () => {
  it('adds dropped=N and one per unparsable line', () => {
    expect(countRejectedPoints("partial write: unable to parse 'a': x\nunable to parse 'b': y dropped=0")).toBe(2);
    expect(countRejectedPoints('partial write: points beyond retention policy dropped=5')).toBe(5);
    expect(countRejectedPoints('something else')).toBeUndefined();
  });
});

describe('quoteIdentifier', () => {
  it('quotes and escapes', () => {
    expect(quoteIdentifier('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('influxTargetFromArgs', () => {
  it('builds the 1.x target from OCS InfluxDBAgent arguments', () => {
    const args = InfluxPublisherArgsSchema.parse({ host: 'influxdb', initial_state: 'record' });
    expect(args).toMatchObject({ port: 8086, database: 'ocs_feeds', protocol: 'line', gzip: false, max_batch_points: 5000, max_buffer_points: 1_000_000 });
    expect(influxTargetFromArgs(args)).toEqual({ version: 1, url: 'http://influxdb:8086', database: 'ocs_feeds' });
    expect(influxTargetFromArgs(InfluxPublisherArgsSchema.parse({ ssl: 'true', port: '8087' }), { username: 'u', password: 'p' })).toEqual({
      version: 1,
      url: 'https://influxdb:8087',
      database: 'ocs_feeds',
      username: 'u',
      password: 'p',
    });
  });

  it('builds a 2.x target when org, bucket and token are given, and refuses a partial set', () => {
    const args = InfluxPublisherArgsSchema.parse({ org: 'o', bucket: 'b', token: 't', gzip: true });
    expect(influxTargetFromArgs(args)).toEqual({ version: 2, url: 'http://influxdb:8086', org: 'o', bucket: 'b', token: 't' });
    expect(() => influxTargetFromArgs(InfluxPublisherArgsSchema.parse({ org: 'o' }))).toThrow(/--org, --bucket and --token/);
  });

  it('reads boolean flags as flags and refuses unknown arguments', () => {
    expect(InfluxPublisherArgsSchema.parse({ gzip: 'False' }).gzip).toBe(false);
    expect(InfluxPublisherArgsSchema.parse({ gzip: true }).gzip).toBe(true);
    expect(InfluxPublisherArgsSchema.safeParse({ hots: 'x' }).success).toBe(false);
  });
});
