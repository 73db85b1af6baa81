import { describe, expect, it } from 'vitest';
import { configErrorFrom } from './config-error.js';
import { OCS_ENV_VARS, childEnv, parseEnv, parseLogLevel } from '../../../lib/site-config/env.js';

describe('env', () => {
  it('parses the OCS variables into a typed object', () => {
    expect(
      parseEnv({
        OCS_CONFIG_DIR: '/config',
        INSTANCE_ID: 'fake-data1',
        SITE_HUB: 'ws://crossbar:8001/ws',
        SITE_HTTP: 'http://crossbar:8001/call',
        SITE_HOST: 'ocs-docker',
        CROSSBAR_TIMEOUT: '0',
        LOGLEVEL: 'debug',
        OCS_PASSWORDS_FILE: '/p.yaml',
        INFLUXDB_USERNAME: 'ocs',
        INFLUXDB_PASSWORD: 'secret',
        INFLUXDB_V2_URL: 'http://influxdb:8086',
        INFLUXDB_V2_TOKEN: 'tok',
        INFLUXDB_V2_ORG: 'ocs',
        INFLUXDB_V2_BUCKET: 'ocs_feeds',
        INFLUXDB_V2_TIMEOUT: '10000',
        INFLUXDB_V2_VERIFY_SSL: 'True',
        PATH: '/usr/bin',
      }),
    ).toEqual({
      configDir: '/config',
      instanceId: 'fake-data1',
      siteHub: 'ws://crossbar:8001/ws',
      siteHttp: 'http://crossbar:8001/call',
      siteHost: 'ocs-docker',
      crossbarTimeoutS: 0,
      logLevel: 'debug',
      passwordsFile: '/p.yaml',
      influxUsername: 'ocs',
      influxPassword: 'secret',
      influxV2Url: 'http://influxdb:8086',
      influxV2Token: 'tok',
      influxV2Org: 'ocs',
      influxV2Bucket: 'ocs_feeds',
      influxV2TimeoutMs: 10000,
      influxV2VerifySsl: true,
    });
  });

  it('treats missing and blank variables as unset', () => {
    const env = parseEnv({ SITE_HUB: '', INSTANCE_ID: '  ', CROSSBAR_TIMEOUT: '', INFLUXDB_V2_URL: '', INFLUXDB_V2_TIMEOUT: ' ' });
    expect(env).toEqual({
      configDir: undefined,
      instanceId: undefined,
      siteHub: undefined,
      siteHttp: undefined,
      siteHost: undefined,
      crossbarTimeoutS: undefined,
      logLevel: undefined,
      passwordsFile: undefined,
      influxUsername: undefined,
      influxPassword: undefined,
      influxV2Url: undefined,
      influxV2Token: undefined,
      influxV2Org: undefined,
      influxV2Bucket: undefined,
      influxV2TimeoutMs: undefined,
      influxV2VerifySsl: undefined,
    });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('maps txaio level names and prefers OCS_LOG_LEVEL', () => {
    expect(parseEnv({ LOGLEVEL: 'critical' }).logLevel).toBe('fatal');
    expect(parseEnv({ LOGLEVEL: 'NONE' }).logLevel).toBe('silent');
    expect(parseEnv({ LOGLEVEL: 'warning' }).logLevel).toBe('warn');
    expect(parseEnv({ LOGLEVEL: 'info', OCS_LOG_LEVEL: 'trace' }).logLevel).toBe('trace');
    expect(parseLogLevel('Debug')).toBe('debug');
    expect(parseLogLevel('loud')).toBeUndefined();
  });

  it('names the variable for a bad value', () => {
    const err = configErrorFrom(() => parseEnv({ CROSSBAR_TIMEOUT: 'abc', SITE_HUB: 'crossbar:8001' }));
    expect(err.message).toBe(
      "environment variable SITE_HUB: expected a ws:// or wss:// URL, got 'crossbar:8001'\n" +
        "environment variable CROSSBAR_TIMEOUT: expected a whole number of seconds >= 0, got 'abc'",
    );
    expect(err.details['variable']).toBe('SITE_HUB');
    expect(() => parseEnv({ LOGLEVEL: 'loud' })).toThrow(
      "environment variable LOGLEVEL: expected one of none, critical, warning, fatal, error, warn, info, debug, trace, silent, got 'loud'",
    );
  });

  it('lists the variables it reads', () => {
    expect(OCS_ENV_VARS).toEqual([
      'OCS_CONFIG_DIR', 'INSTANCE_ID', 'SITE_HUB', 'SITE_HTTP', 'SITE_HOST', 'CROSSBAR_TIMEOUT', 'LOGLEVEL', 'OCS_LOG_LEVEL', 'OCS_PASSWORDS_FILE', 'OCS_AGENT_TICKET', 'OCS_IDENTITY_KEY_FILE',
      'INFLUXDB_USERNAME', 'INFLUXDB_PASSWORD',
      'INFLUXDB_V2_URL', 'INFLUXDB_V2_TOKEN', 'INFLUXDB_V2_ORG', 'INFLUXDB_V2_BUCKET', 'INFLUXDB_V2_TIMEOUT', 'INFLUXDB_V2_VERIFY_SSL',
    ]);
  });

  it('builds a child environment with additions and removals', () => {
    const env = childEnv({ OCS_SUPERVISED_ID: 'fake-data1', INSTANCE_ID: undefined });
    expect(env['OCS_SUPERVISED_ID']).toBe('fake-data1');
    expect('INSTANCE_ID' in env).toBe(false);
    expect(Object.values(env).every((v) => typeof v === 'string')).toBe(true);
  });
});
