import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { DEFAULT_ROUTER_CONFIG, parseRouterConfig } from '../../../lib/router/config.js';
import { defaultRouterConfig, isValidated } from '../../../lib/router/config-defaults.js';
import { RoleAuthorizer } from '../../../lib/router/authorizer.js';

describe('router config', () => {
  it('defaults to test_realm where anonymous may do everything', () => {
    expect(DEFAULT_ROUTER_CONFIG.realms.map((r) => r.name)).toEqual(['test_realm']);
    expect(DEFAULT_ROUTER_CONFIG.auth.anonymous?.role).toBe('anonymous');
    const partial = parseRouterConfig({ max_message_bytes: 1024 }, 'x', 'other_realm');
    expect(partial.realms[0]!.name).toBe('other_realm');
    expect(partial.max_message_bytes).toBe(1024);
  });

  it('builds the default without the validator exactly as the validator makes it of an empty input', () => {
    expect(defaultRouterConfig('other_realm')).toEqual(parseRouterConfig({}, 'x', 'other_realm'));
    expect(defaultRouterConfig()).toEqual(parseRouterConfig({}));
    expect(Object.isFrozen(defaultRouterConfig().limits)).toBe(true);
    // startRouter takes these as they are, and validates anything else
    expect(isValidated(defaultRouterConfig())).toBe(true);
    expect(isValidated(parseRouterConfig({ max_message_bytes: 10 }))).toBe(true);
    expect(isValidated({ ...defaultRouterConfig() })).toBe(false);
  });

  it('names the source and the path of every problem', () => {
    const bad = () => parseRouterConfig({ realms: [{ name: 'r', roles: [{ name: 'a', permissions: [{ uri: '', match: 'nope' }] }] }], auth: { anonymous: { role: 'ghost' } } }, 'site.yaml');
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/site\.yaml: realms\.0\.roles\.0\.permissions\.0\.match/);
    expect(() => parseRouterConfig({ auth: { anonymous: { role: 'ghost' } } }, 'f')).toThrow(/f: auth\.anonymous\.role: no role 'ghost'/);
    expect(() => parseRouterConfig({ typo: 1 }, 'f')).toThrow(/f: .*typo/);
  });
});

describe('RoleAuthorizer', () => {
  it('lets the best matching permission decide, as crossbar', () => {
    const a = new RoleAuthorizer({
      name: 'r',
      permissions: [
        { uri: 'observatory.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { caller: false, publisher: false } },
        { uri: 'observatory.secret', match: 'exact', allow: { call: false, register: false, publish: false, subscribe: true }, disclose: { caller: true, publisher: false } },
        { uri: 'observatory..feeds', match: 'wildcard', allow: { call: false, register: false, publish: true, subscribe: false }, disclose: { caller: false, publisher: false } },
      ],
    });
    expect(a.isAllowed('observatory.agent.ops', 'call')).toBe(true);
    expect(a.isAllowed('observatory.secret', 'call')).toBe(false);
    expect(a.isAllowed('observatory.secret', 'subscribe')).toBe(true);
    expect(a.shouldDisclose('observatory.secret', 'caller')).toBe(true);
    expect(a.isAllowed('other.thing', 'call')).toBe(false);
    const star = new RoleAuthorizer({ name: 's', permissions: [{ uri: '*', match: 'exact', allow: { call: true, register: false, publish: false, subscribe: false }, disclose: { caller: false, publisher: false } }] });
    expect(star.isAllowed('anything.at.all', 'call')).toBe(true);
  });
});

describe('RoleAuthorizer templated on the authid', () => {
  const role = {
    name: 'agent',
    permissions: [
      { uri: '', match: 'prefix' as const, allow: { call: true, register: false, publish: false, subscribe: true }, disclose: { caller: false, publisher: false } },
      { uri: 'observatory.{authid}.', match: 'prefix' as const, allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { caller: false, publisher: true } },
    ],
  };

  it('lets a session register and publish under its own address only', () => {
    const a = new RoleAuthorizer(role, 'fake-data1');
    expect(a.isAllowed('observatory.fake-data1.ops', 'register')).toBe(true);
    expect(a.isAllowed('observatory.fake-data1.feeds.heartbeat', 'publish')).toBe(true);
    expect(a.shouldDisclose('observatory.fake-data1.feeds.heartbeat', 'publisher')).toBe(true);
    expect(a.isAllowed('observatory.fake-data10.ops', 'register')).toBe(false);
    expect(a.isAllowed('observatory.fake-data2.feeds.heartbeat', 'publish')).toBe(false);
    expect(a.isAllowed('observatory.fake-data2.ops', 'call')).toBe(true);
  });

  it('gives an authid that is not a URI component nothing from the template', () => {
    for (const authid of ['fake-data1.ops', 'a b', 'x#y', '']) {
      const a = new RoleAuthorizer(role, authid);
      expect(a.isAllowed(`observatory.${authid}.feeds.heartbeat`, 'publish')).toBe(false);
      expect(a.isAllowed('observatory.fake-data1.ops.x', 'register')).toBe(false);
    }
    // and the role without an authid has only its plain permissions
    expect(new RoleAuthorizer(role).isAllowed('observatory..feeds', 'publish')).toBe(false);
  });
});
