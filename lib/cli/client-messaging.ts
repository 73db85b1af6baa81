/** `ocs client publish` (over WAMP or the router's /publish) and `ocs client grant` (the Access Director's exclusive grants). */
import { userInfo } from 'node:os';
import { GRANT_DURATION_S } from '../client/exclusive-grant.js';
import { DEFAULT_DIRECTOR_ID } from '../site-config/access-policy.js';
import type { ClientConfig } from '../site-config/resolve-client-config.js';
import { isWampFloat } from '../wamp/float.js';
import { UsageError, connectClient, numberOption, output, parse, withSession } from './client-common.js';

export async function grant(config: ClientConfig): Promise<number> {
  const { values, positionals } = parse(config.rest, { director: { type: 'string' }, password: { type: 'string' }, grantee: { type: 'string' }, duration: { type: 'string' } });
  const [action, grantName] = positionals;
  if (action !== 'acquire' && action !== 'renew' && action !== 'release') throw new UsageError('grant needs acquire, renew or release, then the grant name');
  if (!grantName) throw new UsageError(`grant ${action} needs the grant name`);
  const out = output(values['json'] === true);
  const durationS = numberOption(values['duration'], 'duration', GRANT_DURATION_S);
  const director = await connectClient(config, typeof values['director'] === 'string' ? values['director'] : DEFAULT_DIRECTOR_ID, { privs: 1 });
  try {
    const kwargs: Record<string, unknown> = { grant_name: grantName, action, password: values['password'] ?? null, grantee: values['grantee'] ?? `ocs client (${userInfo().username})` };
    if (action !== 'release') kwargs['expire_at'] = Date.now() / 1000 + durationS;
    const reply = (await director.callSpecial('request_exclusive', kwargs)) as Record<string, unknown>;
    if (typeof reply?.['error'] === 'string') {
      process.stderr.write(`ocs client grant: ${reply['error']}\n`);
      return 1;
    }
    const at = reply['expire_at'];
    const expire = at === undefined ? '' : ` until ${new Date((isWampFloat(at) ? at.value : Number(at)) * 1000).toISOString()}`;
    const pw = typeof reply['password'] === 'string' ? `; password ${reply['password']}` : '';
    out.print(`${String(reply['message'])}: ${grantName}${expire}${pw}`, reply);
    return 0;
  } finally {
    await director.close();
  }
}

/** A command-line value: JSON when it parses as JSON, else the string itself. */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The HTTP publisher next to the site's /call bridge. */
function publisherUrl(config: ClientConfig): string {
  const call = config.hub.wampHttp;
  if (call === null) throw new UsageError('--http needs a URL: the site names no wamp_http to find /publish beside');
  const url = new URL(call);
  url.pathname = url.pathname.replace(/\/call\/?$/, '/publish');
  return url.toString();
}

export async function publish(config: ClientConfig): Promise<number> {
  // `--http` alone: the site's publisher; `--http=URL`: that one (a bare value would be taken for the topic)
  const argv = config.rest.map((t) => (t === '--http' ? '--http=' : t));
  const { values, positionals } = parse(argv, { kwargs: { type: 'string' }, http: { type: 'string' } });
  const [topic, ...valueTokens] = positionals;
  if (!topic) throw new UsageError('publish needs a topic, e.g. observatory.script.feeds.notes');
  const args = valueTokens.map(parseValue);
  let kwargs: Record<string, unknown> = {};
  if (values['kwargs'] !== undefined) {
    const k = parseValue(String(values['kwargs']));
    if (typeof k !== 'object' || k === null || Array.isArray(k)) throw new UsageError(`--kwargs needs a JSON object, got '${String(values['kwargs'])}'`);
    kwargs = k as Record<string, unknown>;
  }
  const out = output(values['json'] === true);
  let id: number;
  if (values['http'] !== undefined) {
    const url = values['http'] === '' ? publisherUrl(config) : String(values['http']);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic, args, kwargs }) });
    const body = (await res.json().catch(() => ({}))) as { id?: number; error?: string; args?: unknown[] };
    if (res.status !== 200 || typeof body.id !== 'number') {
      process.stderr.write(`ocs client publish: ${url} answered ${res.status}: ${body.error ?? 'no publication id'}${body.args?.length ? ` ${JSON.stringify(body.args)}` : ''}\n`);
      return 1;
    }
    id = body.id;
  } else {
    id = await withSession(config, async (conn) => {
      const pub = (await conn.session!.publish(topic, args, kwargs, { acknowledge: true })) as { id?: number } | undefined;
      return pub?.id ?? 0;
    });
  }
  out.print(`published on ${topic} (publication ${id})`, { topic, id });
  return 0;
}
