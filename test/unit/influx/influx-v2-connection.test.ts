import { afterEach, describe, expect, it, vi } from 'vitest';
import { InfluxDBAgentArgsSchema, InfluxDBAgentv2ArgsSchema, influxV2Connection } from '../../../agents/influxdb-publisher/config.js';
import { parseAgentArgs } from '../../../lib/agent/agent-args.js';
import { ConfigError } from '../../../lib/errors.js';
import { InfluxPublisher, InfluxPublisherArgsSchema, influxConnectionFromArgs } from '../../../lib/influx/influx-publisher.js';
import { createRootLogger } from '../../../lib/log.js';
import { parseEnv } from '../../../lib/site-config/env.js';
import { configErrorFrom } from '../site-config/config-error.js';

const ALL_SET = {
  INFLUXDB_V2_URL: 'http://influxdb:8086',
  INFLUXDB_V2_TOKEN: 'secret-token',
  INFLUXDB_V2_ORG: 'ocs',
  INFLUXDB_V2_BUCKET: 'ocs_feeds',
};
const REQUIRED = Object.keys(ALL_SET);

const v2Args = (argv: string[] = []) => parseAgentArgs(argv, InfluxDBAgentv2ArgsSchema, 'InfluxDBAgentv2');

describe('influxV2Connection', () => {
  it('builds the 2.x target from INFLUXDB_V2_URL, _TOKEN, _ORG and _BUCKET', () => {
    expect(influxV2Connection(parseEnv(ALL_SET), v2Args())).toEqual({
      target: { version: 2, url: 'http://influxdb:8086', token: 'secret-token', org: 'ocs', bucket: 'ocs_feeds' },
    });
  });

  it('takes INFLUXDB_V2_TIMEOUT (ms) and INFLUXDB_V2_VERIFY_SSL when set', () => {
    const env = parseEnv({ ...ALL_SET, INFLUXDB_V2_TIMEOUT: '2500', INFLUXDB_V2_VERIFY_SSL: 'False' });
    expect(influxV2Connection(env, v2Args())).toMatchObject({ requestTimeoutMs: 2500, shouldVerifySsl: false });
    expect(influxV2Connection(parseEnv({ ...ALL_SET, INFLUXDB_V2_VERIFY_SSL: 'yes' }), v2Args()).shouldVerifySsl).toBe(true);
  });

  it.each(REQUIRED)('names %s when it is the one missing', (name) => {
    const err = configErrorFrom(() => influxV2Connection(parseEnv({ ...ALL_SET, [name]: undefined }), v2Args()));
    expect(err.message).toMatch(new RegExp(`^InfluxDBAgentv2: environment variable ${name} not set \\(`));
    expect(err.details).toEqual({ variables: [name] });
  });

  it('names every missing variable at once; a blank one counts as missing', () => {
    const err = configErrorFrom(() => influxV2Connection(parseEnv({ INFLUXDB_V2_ORG: 'ocs', INFLUXDB_V2_TOKEN: '  ' }), v2Args()));
    expect(err.message).toContain('environment variables INFLUXDB_V2_URL, INFLUXDB_V2_TOKEN, INFLUXDB_V2_BUCKET not set');
    expect(err.details).toEqual({ variables: ['INFLUXDB_V2_URL', 'INFLUXDB_V2_TOKEN', 'INFLUXDB_V2_BUCKET'] });
  });

  it('lets --org, --bucket and --token override their variables, one at a time', () => {
    const env = parseEnv(ALL_SET);
    expect(influxV2Connection(env, v2Args(['--bucket', 'other_bucket'])).target).toEqual({
      version: 2,
      url: 'http://influxdb:8086',
      token: 'secret-token',
      org: 'ocs',
      bucket: 'other_bucket',
    });
    expect(influxV2Connection(env, v2Args(['--org', 'o2', '--token', 't2'])).target).toMatchObject({ org: 'o2', token: 't2', bucket: 'ocs_feeds' });
  });

  it('needs no variable that its argument replaces, but still needs INFLUXDB_V2_URL', () => {
    const args = v2Args(['--org', 'o', '--bucket', 'b', '--token', 't']);
    expect(influxV2Connection(parseEnv({ INFLUXDB_V2_URL: 'https://db.example:8086' }), args).target).toEqual({
      version: 2,
      url: 'https://db.example:8086',
      org: 'o',
      bucket: 'b',
      token: 't',
    });
    expect(configErrorFrom(() => influxV2Connection(parseEnv({}), args)).details).toEqual({ variables: ['INFLUXDB_V2_URL'] });
  });
});

describe('InfluxDB 2.x environment variables', () => {
  it('refuses a URL that is not http(s), a bad timeout and a bad verify flag, naming the variable', () => {
    expect(() => parseEnv({ INFLUXDB_V2_URL: 'influxdb:8086' })).toThrow(/^environment variable INFLUXDB_V2_URL: expected an http:\/\/ or https:\/\/ URL, got 'influxdb:8086'$/);
    expect(() => parseEnv({ INFLUXDB_V2_TIMEOUT: '10s' })).toThrow(/^environment variable INFLUXDB_V2_TIMEOUT: expected a whole number of milliseconds > 0, got '10s'$/);
    expect(() => parseEnv({ INFLUXDB_V2_TIMEOUT: '0' })).toThrow(/INFLUXDB_V2_TIMEOUT/);
    expect(() => parseEnv({ INFLUXDB_V2_VERIFY_SSL: 'maybe' })).toThrow(/^environment variable INFLUXDB_V2_VERIFY_SSL: expected true or false, got 'maybe'$/);
  });
});

describe('InfluxDBAgentv2 arguments', () => {
  it("takes OCS's v2 arguments and InfluxDBAgent's buffer settings, with the same defaults", () => {
    expect(v2Args()).toEqual({
      initial_state: 'record',
      protocol: 'line',
      gzip: false,
      max_batch_points: 5000,
      max_buffer_points: 1_000_000,
      flush_interval: 1,
      backoff_cap: 30,
    });
    const { host: _h, port: _p, database: _d, ssl: _s, verify_ssl: _v, ...shared } = parseAgentArgs([], InfluxDBAgentArgsSchema, 'InfluxDBAgent');
    expect(v2Args()).toEqual(shared);
    expect(v2Args(['--initial-state', 'idle', '--protocol', 'json', '--gzip', '--flush-interval', '0.2'])).toMatchObject({
      initial_state: 'idle',
      protocol: 'json',
      gzip: true,
      flush_interval: 0.2,
    });
  });

  it('refuses the 1.x target arguments, which OCS does not take either', () => {
    for (const argv of [['--host', 'db'], ['--port', '8086'], ['--database', 'x'], ['--ssl'], ['--verify-ssl', 'false']]) {
      expect(() => v2Args(argv)).toThrow(ConfigError);
    }
    expect(() => v2Args(['--initial-state', 'paused'])).toThrow(/--initial-state/);
  });
});

describe('InfluxPublisher with a resolved connection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes to the 2.x endpoint with the token', async () => {
    const seen: Array<{ url: string; headers: Record<string, string> }> = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push({ url: String(input), headers: { ...(init?.headers as Record<string, string>) } });
      return new Response(null, { status: 204 });
    }) as typeof globalThis.fetch;
    const args = v2Args();
    const connection = influxV2Connection(parseEnv({ ...ALL_SET, INFLUXDB_V2_BUCKET: 'ocs_feeds/autogen', INFLUXDB_V2_TIMEOUT: '1500' }), args);
    const publisher = new InfluxPublisher({ args, connection, fetch });
    await publisher.http.write('m,feed=f x=1i 1');
    await publisher.close({ drainTimeoutMs: 0 });
    expect(seen).toEqual([
      {
        url: 'http://influxdb:8086/api/v2/write?org=ocs&bucket=ocs_feeds%2Fautogen&precision=ns',
        headers: expect.objectContaining({ authorization: 'Token secret-token' }),
      },
    ]);
  });

  it('times requests out after INFLUXDB_V2_TIMEOUT', async () => {
    vi.useFakeTimers();
    const args = v2Args();
    const connection = influxV2Connection(parseEnv({ ...ALL_SET, INFLUXDB_V2_TIMEOUT: '1500' }), args);
    const hanging = (async (_input: string | URL | Request, init?: RequestInit) =>
      await new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))) as typeof globalThis.fetch;
    const slow = new InfluxPublisher({ args, connection, fetch: hanging });
    const outcome = slow.http.write('m x=1 1').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1499);
    let isSettled = false;
    void outcome.then(() => (isSettled = true));
    await Promise.resolve();
    expect(isSettled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('no answer within 1500 ms') });
    await slow.close({ drainTimeoutMs: 0 });
  });

  it('warns that certificate checks stay on when https is asked to skip them', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createRootLogger({ level: 'warn', destination: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } });
    const args = v2Args();
    const https = { target: { version: 2, url: 'https://db:8086', org: 'o', bucket: 'b', token: 't' } } as const;
    for (const connection of [{ ...https, shouldVerifySsl: false }, { ...https, shouldVerifySsl: true }, { ...https, target: { ...https.target, url: 'http://db:8086' }, shouldVerifySsl: false }]) {
      await new InfluxPublisher({ args, connection, logger }).close({ drainTimeoutMs: 0 });
    }
    expect(lines.map((l) => l['msg'])).toEqual(['turning certificate verification off is not supported; certificates are verified']);
    // InfluxDBAgent's --ssl --verify-ssl false asks the same.
    const v1 = InfluxPublisherArgsSchema.parse({ ssl: 'true', verify_ssl: 'false' });
    expect(influxConnectionFromArgs(v1)).toEqual({ target: { version: 1, url: 'https://influxdb:8086', database: 'ocs_feeds' }, shouldVerifySsl: false });
  });
});
