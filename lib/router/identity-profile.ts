/**
 * The router config of the safe profile (`hub.identities: true`): agents own their address.
 *
 * - Role `agent` (ticket principals, authid = instance id): register, publish, call and subscribe
 *   under `{root}.{authid}` and below, with publisher disclosure, so subscribers (the Registry)
 *   see who published; call and subscribe everywhere else.
 * - Role `client` (anonymous, and the HTTP bridge): call and subscribe; no register, no publish.
 * - Neither may kill other sessions through the meta API.
 *
 * A session can therefore only register and publish under its own address: nobody can take the
 * name of an agent that died, nor beat in its name.
 */
import type { RouterConfigInput } from './config.js';
import { AUTHID_PLACEHOLDER } from './authorizer.js';

export const AGENT_ROLE = 'agent';
export const CLIENT_ROLE = 'client';

const NONE = { call: false, register: false, publish: false, subscribe: false };
const READ = { call: true, register: false, publish: false, subscribe: true };
const ALL = { call: true, register: true, publish: true, subscribe: true };
const DISCLOSE_PUBLISHER = { caller: false, publisher: true };

/** Meta procedures that act on other sessions: nobody's in this profile. */
const SESSION_KILLERS = ['wamp.session.kill', 'wamp.session.kill_by_authid', 'wamp.session.kill_by_authrole'];

export function identityRouterConfigInput(realm: string, addressRoot: string, tickets: Readonly<Record<string, string>>): RouterConfigInput {
  const deny = SESSION_KILLERS.map((uri) => ({ uri, match: 'exact' as const, allow: NONE }));
  const own = `${addressRoot}.${AUTHID_PLACEHOLDER}`;
  return {
    realms: [
      {
        name: realm,
        roles: [
          {
            name: AGENT_ROLE,
            permissions: [
              { uri: '', match: 'prefix', allow: READ },
              { uri: own, match: 'exact', allow: ALL, disclose: DISCLOSE_PUBLISHER },
              { uri: `${own}.`, match: 'prefix', allow: ALL, disclose: DISCLOSE_PUBLISHER },
              ...deny,
            ],
          },
          { name: CLIENT_ROLE, permissions: [{ uri: '', match: 'prefix', allow: READ }, ...deny] },
        ],
      },
    ],
    auth: {
      anonymous: { type: 'static', role: CLIENT_ROLE },
      ticket: { type: 'static', principals: Object.fromEntries(Object.entries(tickets).map(([id, ticket]) => [id, { ticket, role: AGENT_ROLE, realm }])) },
    },
    http_bridge: { realm, role: CLIENT_ROLE },
  };
}

/**
 * The same profile as a crossbar config (crossbar has no `{authid}` templates, so one role per
 * agent): ticket principals with authid = instance id, role `agent-<id>` owning
 * `{root}.<id>` and below, anonymous and the HTTP caller as `client`.
 */
export function crossbarIdentityConfig(realm: string, addressRoot: string, tickets: Readonly<Record<string, string>>, port = 8001): Record<string, unknown> {
  const read = { uri: `${addressRoot}.`, match: 'prefix', allow: READ, disclose: { caller: false, publisher: false }, cache: true };
  const roles = [
    { name: CLIENT_ROLE, permissions: [read] },
    ...Object.keys(tickets).map((id) => ({
      name: `${AGENT_ROLE}-${id}`,
      permissions: [
        read,
        { uri: `${addressRoot}.${id}`, match: 'exact', allow: ALL, disclose: DISCLOSE_PUBLISHER, cache: true },
        { uri: `${addressRoot}.${id}.`, match: 'prefix', allow: ALL, disclose: DISCLOSE_PUBLISHER, cache: true },
      ],
    })),
  ];
  const principals = Object.fromEntries(Object.entries(tickets).map(([id, ticket]) => [id, { ticket, role: `${AGENT_ROLE}-${id}` }]));
  return {
    version: 2,
    controller: {},
    workers: [
      {
        type: 'router',
        realms: [{ name: realm, roles }],
        transports: [
          {
            type: 'web',
            endpoint: { type: 'tcp', port },
            paths: {
              ws: { type: 'websocket', auth: { anonymous: { type: 'static', role: CLIENT_ROLE }, ticket: { type: 'static', principals } } },
              call: { type: 'caller', realm, role: CLIENT_ROLE, options: {} },
            },
          },
        ],
      },
    ],
  };
}
