/**
 * The router's HTTP services beside /call: crossbar's HTTP publisher at /publish (unsigned and
 * signed requests) and the node-info page at /info that OCS's test tooling checks first.
 */
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRouter, type RouterConfigInput, type RunningRouter } from '../../../lib/router/index.js';
import { publisherSignature } from '../../../lib/router/http-publisher.js';
import { WampConnection } from '../../../lib/wamp/connection.js';
import { spawnOcs } from '../../helpers/agent-process.js';
import { SYSTEM_PYTHON } from '../../helpers/python-wamp.js';
import { registerCleanup } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';
import { rawHttp } from '../../security/web-helpers.js';

interface Seen {
  args: unknown[] | undefined;
  kwargs: Record<string, unknown> | undefined;
}

async function start(config: RouterConfigInput = {}): Promise<{ router: RunningRouter; publishUrl: string; seen: Seen[] }> {
  const router = await startRouter({ host: '127.0.0.1', port: 0, config });
  registerCleanup(() => router.close());
  const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
  registerCleanup(() => conn.close());
  const session = await conn.open();
  const seen: Seen[] = [];
  await session.subscribe('com.example.notes', (args, kwargs) => seen.push({ args, kwargs }));
  return { router, publishUrl: `http://127.0.0.1:${router.port}/publish`, seen };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  rawHttp(url, { headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('HTTP publisher /publish', () => {
  it('publishes a posted event to a real WAMP subscriber and answers its publication id', async () => {
    const { publishUrl, seen } = await start();
    const res = await post(publishUrl, { topic: 'com.example.notes', args: ['hello', 1.5], kwargs: { by: 'cron' } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ id: expect.any(Number) });
    await waitFor(() => seen.length === 1);
    expect(seen[0]).toEqual({ args: ['hello', 1.5], kwargs: { by: 'cron' } });
    // a trailing slash, no args
    expect((await post(`${publishUrl}/`, { topic: 'com.example.notes' })).status).toBe(200);
    await waitFor(() => seen.length === 2);
  });

  it('answers a bad body with 400 and a denied topic with 403, in crossbar’s shape', async () => {
    const ALL = { call: true, register: true, publish: true, subscribe: true };
    const { publishUrl, seen } = await start({
      realms: [
        {
          name: 'test_realm',
          roles: [
            { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: ALL }] },
            { name: 'scripts', permissions: [{ uri: 'com.example.', match: 'prefix', allow: { call: false, register: false, publish: true, subscribe: false } }] },
          ],
        },
      ],
      http_publisher: { role: 'scripts' },
    });
    for (const body of ['{"topic": ', '[1]', { args: [] }, { topic: 'com.example.notes', args: 'x' }, { topic: 'com.example.notes', options: [] }]) {
      const res = await post(publishUrl, body);
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({ error: expect.any(String), args: [], kwargs: {} });
    }
    const denied = await post(publishUrl, { topic: 'org.other.topic', args: [1] });
    expect(denied.status).toBe(403);
    expect(denied.json()).toMatchObject({ error: 'wamp.error.not_authorized', args: [expect.stringContaining('org.other.topic')] });
    expect((await post(publishUrl, { topic: 'com..bad uri' })).status).toBe(400);
    // the same intake rules as /call: JSON only, no cross-site page
    expect((await rawHttp(publishUrl, { headers: { 'content-type': 'text/plain' }, body: '{"topic":"com.example.notes"}' })).status).toBe(415);
    expect((await post(publishUrl, { topic: 'com.example.notes' }, { origin: 'http://evil.example.com' })).status).toBe(403);
    expect((await post(publishUrl, { topic: 'com.example.notes' })).status).toBe(200);
    await waitFor(() => seen.length === 1);
  });

  it('takes requests signed as crossbar signs them and refuses a bad signature, a stale timestamp and a replayed nonce', async () => {
    const { publishUrl, seen } = await start({ http_publisher: { key: 'cron', secret: 's3cr3t' } });
    let nonce = 1000;
    const signed = (body: string, o: { secret?: string; timestamp?: string; nonce?: number; key?: string } = {}) => {
      const timestamp = o.timestamp ?? new Date().toISOString();
      const n = String(o.nonce ?? nonce++);
      const key = o.key ?? 'cron';
      const signature = publisherSignature(o.secret ?? 's3cr3t', key, timestamp, '1', n, body);
      const q = new URLSearchParams({ key, timestamp, seq: '1', nonce: n, signature });
      return post(`${publishUrl}?${q.toString()}`, body);
    };
    const body = JSON.stringify({ topic: 'com.example.notes', args: ['signed'] });
    const ok = await signed(body, { nonce: 7 });
    expect(ok.status).toBe(200);
    await waitFor(() => seen.length === 1);
    expect(seen[0]!.args).toEqual(['signed']);

    const replay = await signed(body, { nonce: 7 });
    expect(replay.status).toBe(401);
    expect(replay.json()['error']).toBe('nonce 7 was already used (a replayed request)');
    const bad = await signed(body, { secret: 'guess' });
    expect(bad.status).toBe(401);
    expect(bad.json()['error']).toBe('invalid request signature');
    const stale = await signed(body, { timestamp: new Date(Date.now() - 3600_000).toISOString() });
    expect(stale.status).toBe(400);
    expect(stale.json()['error']).toMatch(/is more than 300 s off/);
    expect((await signed(body, { key: 'other' })).status).toBe(401);
    // a body changed after signing
    const q = new URLSearchParams({ key: 'cron', timestamp: new Date().toISOString(), seq: '1', nonce: '99' });
    q.set('signature', publisherSignature('s3cr3t', 'cron', q.get('timestamp')!, '1', '99', body));
    expect((await post(`${publishUrl}?${q.toString()}`, body.replace('signed', 'forged'))).status).toBe(401);
    const unsigned = await post(publishUrl, body);
    expect(unsigned.status).toBe(400);
    expect(unsigned.json()['error']).toBe("signed request required, but mandatory 'key' field missing");
    expect(seen).toHaveLength(1);
  });

  it('ocs client publish posts over WAMP and over /publish', async () => {
    const { router, publishUrl, seen } = await start();
    const site = ['--site', 'none', '--site-hub', router.url, '--site-realm', 'test_realm', '--address-root', 'observatory'];
    const overWamp = spawnOcs(['client', 'publish', 'com.example.notes', 'from-cli', '2.5', '--kwargs', '{"n": 1}', ...site]);
    expect(await overWamp.exited).toBe(0);
    expect(overWamp.records.map((r) => r['raw']).join('\n')).toMatch(/^published on com\.example\.notes \(publication \d+\)$/);
    const overHttp = spawnOcs(['client', 'publish', 'com.example.notes', 'via-http', `--http=${publishUrl}`, ...site]);
    expect(await overHttp.exited).toBe(0);
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([
      { args: ['from-cli', 2.5], kwargs: { n: 1 } },
      { args: ['via-http'], kwargs: {} },
    ]);
  });
});

describe('node info /info', () => {
  let router: RunningRouter;
  beforeAll(async () => {
    router = await startRouter({ host: '127.0.0.1', port: 0, config: { auth: { anonymous: { role: 'anonymous' }, ticket: { principals: { joe: { ticket: 'do-not-show', role: 'anonymous' } } } } } });
    registerCleanup(() => router.close());
  });

  it('answers 200 to the request OCS’s check_crossbar_connection makes (Python urllib, GET /info)', async () => {
    // asynchronously: the router runs in this process and must answer meanwhile
    const python = spawn(SYSTEM_PYTHON, ['-c', `import urllib.request; print(urllib.request.urlopen("http://localhost:${router.port}/info").getcode())`]);
    let out = '';
    let err = '';
    python.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    python.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => python.once('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.trim()).toBe('200');
  });

  it('names the router, its version, realms, uptime and sessions, as HTML or JSON, without secrets', async () => {
    const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
    registerCleanup(() => conn.close());
    await conn.open();
    const html = await fetch(`http://127.0.0.1:${router.port}/info`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const page = await html.text();
    expect(page).toContain('<h1>ocs-ts embedded router 0.1.0</h1>');
    expect(page).toContain('<td>test_realm</td><td>1</td>');
    const json = await fetch(`http://127.0.0.1:${router.port}/info`, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const info = (await json.json()) as Record<string, unknown>;
    expect(info).toEqual({ router: 'ocs-ts embedded router', version: '0.1.0', node: process.version, started: expect.any(String), uptime_s: expect.any(Number), realms: [{ name: 'test_realm', sessions: 1 }], sessions: 1 });
    expect(page + JSON.stringify(info)).not.toMatch(/do-not-show|joe|anonymous/);
  });

  it('can be turned off, as can the publisher', async () => {
    const off = await startRouter({ host: '127.0.0.1', port: 0, config: { http_info: { enabled: false }, http_publisher: { enabled: false } } });
    registerCleanup(() => off.close());
    expect((await fetch(`http://127.0.0.1:${off.port}/info`)).status).toBe(404);
    expect((await post(`http://127.0.0.1:${off.port}/publish`, { topic: 'com.example.notes' })).status).toBe(404);
  });
});
