/**
 * The InfluxDB HTTP API the publisher needs: write line protocol, run InfluxQL, create the
 * database, ping.
 *
 * - 1.x: `POST /write?db=&precision=ns[&rp=]`, `POST /query?db=&q=`, `CREATE DATABASE`; basic
 *   auth when a username is given.
 * - 2.x: `POST /api/v2/write?org=&bucket=&precision=ns` with `Authorization: Token <token>`;
 *   InfluxQL goes through 2.x's 1.x-compatible `/query` (the bucket needs a DBRP mapping) and
 *   the bucket must exist (`createDatabase` does nothing).
 *
 * Every call throws an `InfluxHttpError` whose `kind` says whether to retry:
 * - `unreachable` (no connection, timeout), `server` (5xx, 408, 429), `auth` (401/403) and
 *   `database_not_found` (404) are retryable;
 * - `rejected` (400 and other 4xx) is not: InfluxDB 1.x has already stored the valid points of
 *   the request and names the refused ones (`partial write: ... dropped=N`, one
 *   `unable to parse '...'` per bad line); `rejectedPoints` counts them when the text says so.
 * With `gzip`, bodies are compressed (`Content-Encoding: gzip`).
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { systemClock, type Clock } from '../clock.js';

const gzip = promisify(gzipCallback);

export type InfluxTarget = InfluxV1Target | InfluxV2Target;

export interface InfluxV1Target {
  version: 1;
  /** `http://influxdb:8086` */
  url: string;
  database: string;
  retentionPolicy?: string;
  username?: string;
  password?: string;
}

export interface InfluxV2Target {
  version: 2;
  url: string;
  org: string;
  bucket: string;
  token: string;
}

export type InfluxHttpErrorKind = 'unreachable' | 'server' | 'auth' | 'database_not_found' | 'rejected';

export class InfluxHttpError extends Error {
  readonly kind: InfluxHttpErrorKind;
  readonly status: number | undefined;
  readonly isRetryable: boolean;
  /** For `rejected`: how many points InfluxDB says it refused, when the error text tells. */
  readonly rejectedPoints: number | undefined;

  constructor(kind: InfluxHttpErrorKind, message: string, options: { status?: number; rejectedPoints?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InfluxHttpError';
    this.kind = kind;
    this.status = options.status;
    this.isRetryable = kind !== 'rejected';
    this.rejectedPoints = options.rejectedPoints;
  }
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxStatementResult {
  statement_id: number;
  series?: InfluxSeries[];
  error?: string;
}

export interface InfluxHttpOptions {
  target: InfluxTarget;
  shouldGzip?: boolean;
  /** Per request; default 10 000. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  clock?: Clock;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export class InfluxHttp {
  readonly target: InfluxTarget;
  private readonly shouldGzip: boolean;
  private readonly requestTimeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly clock: Clock;
  private readonly baseUrl: string;

  constructor(options: InfluxHttpOptions) {
    this.target = options.target;
    this.shouldGzip = options.shouldGzip ?? false;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.clock = options.clock ?? systemClock;
    this.baseUrl = options.target.url.replace(/\/+$/, '');
  }

  /** The write endpoint with its query string. */
  writeUrl(): string {
    const t = this.target;
    if (t.version === 2) {
      return `${this.baseUrl}/api/v2/write?${new URLSearchParams({ org: t.org, bucket: t.bucket, precision: 'ns' })}`;
    }
    const params = new URLSearchParams({ db: t.database, precision: 'ns' });
    if (t.retentionPolicy) params.set('rp', t.retentionPolicy);
    return `${this.baseUrl}/write?${params}`;
  }

  /** Writes newline-separated line protocol. Throws InfluxHttpError. */
  async write(body: string): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', ...this.authHeaders() };
    let payload: string | Uint8Array = body;
    if (this.shouldGzip) {
      payload = await gzip(Buffer.from(body, 'utf8'));
      headers['content-encoding'] = 'gzip';
    }
    const res = await this.request(this.writeUrl(), { method: 'POST', headers, body: payload });
    if (res.status >= 200 && res.status < 300) {
      await res.arrayBuffer().catch(() => undefined);
      return;
    }
    throw classifyWriteResponse(res.status, await res.text().catch(() => ''));
  }

  /** Runs InfluxQL (epoch ns timestamps). Throws when the request or any statement fails. */
  async query(q: string, options: { database?: string } = {}): Promise<InfluxStatementResult[]> {
    const params = new URLSearchParams({ q, epoch: 'ns' });
    const db = options.database ?? (this.target.version === 1 ? this.target.database : this.target.bucket);
    if (db) params.set('db', db);
    const res = await this.request(`${this.baseUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.authHeaders() },
      body: params.toString(),
    });
    const text = await res.text();
    const body = parseJson(text) as { results?: InfluxStatementResult[]; error?: string } | undefined;
    if (!res.ok || !body || body.error) {
      throw new InfluxHttpError(res.status >= 500 ? 'server' : 'rejected', `query failed (HTTP ${res.status}): ${body?.error ?? text.trim()}`, {
        status: res.status,
      });
    }
    const results = body.results ?? [];
    const failed = results.find((r) => r.error);
    if (failed) throw new InfluxHttpError('rejected', `query failed: ${failed.error}`, { status: res.status });
    return results;
  }

  /** 1.x: `CREATE DATABASE "<db>"` (a no-op when it exists). 2.x: nothing (buckets are created by an admin). */
  async createDatabase(): Promise<void> {
    if (this.target.version === 2) return;
    await this.query(`CREATE DATABASE ${quoteIdentifier(this.target.database)}`, { database: '' });
  }

  /** `GET /ping`; resolves with the server's version header. */
  async ping(): Promise<{ version: string | null }> {
    const res = await this.request(`${this.baseUrl}/ping`, { method: 'GET', headers: this.authHeaders() });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status !== 204 && res.status !== 200) throw new InfluxHttpError('server', `ping answered HTTP ${res.status}`, { status: res.status });
    return { version: res.headers.get('x-influxdb-version') };
  }

  private authHeaders(): Record<string, string> {
    const t = this.target;
    if (t.version === 2) return { authorization: `Token ${t.token}` };
    if (t.username !== undefined) {
      return { authorization: `Basic ${Buffer.from(`${t.username}:${t.password ?? ''}`).toString('base64')}` };
    }
    return {};
  }

  /** One HTTP request with the timeout; network failures become `unreachable`. */
  private async request(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(), this.requestTimeoutMs);
    try {
      return await this.fetchFn(url, { ...init, signal: controller.signal });
    } catch (err) {
      const reason = controller.signal.aborted ? `no answer within ${this.requestTimeoutMs} ms` : describeFetchError(err);
      throw new InfluxHttpError('unreachable', `InfluxDB at ${this.baseUrl} unreachable: ${reason}`, { cause: err });
    } finally {
      this.clock.clearTimeout(timer);
    }
  }
}

/** Maps a failed write's status and body to an InfluxHttpError. */
export function classifyWriteResponse(status: number, bodyText: string): InfluxHttpError {
  const body = parseJson(bodyText) as { error?: unknown; message?: unknown } | undefined;
  const detail = typeof body?.error === 'string' ? body.error : typeof body?.message === 'string' ? body.message : bodyText.trim();
  const message = `InfluxDB refused the write (HTTP ${status}): ${detail || '(no error text)'}`;
  if (status === 404) return new InfluxHttpError('database_not_found', message, { status });
  if (status === 401 || status === 403) return new InfluxHttpError('auth', message, { status });
  if (status >= 500 || status === 408 || status === 429) return new InfluxHttpError('server', message, { status });
  return new InfluxHttpError('rejected', message, { status, rejectedPoints: countRejectedPoints(detail) });
}

/**
 * How many points a 1.x 400 says were refused: `dropped=N` (type conflicts, invalid fields,
 * retention) plus one per `unable to parse '...'` line; undefined when the text says neither.
 */
export function countRejectedPoints(errorText: string): number | undefined {
  const dropped = /dropped=(\d+)/.exec(errorText);
  const unparsed = errorText.match(/unable to parse /g)?.length ?? 0;
  if (!dropped && unparsed === 0) return undefined;
  return (dropped ? Number(dropped[1]) : 0) + unparsed;
}

/** An InfluxQL identifier in double quotes. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return err.message;
}
