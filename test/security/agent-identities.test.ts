/**
 * Threat: in the open default any session may register `{root}.<id>.ops` of an agent that just
 * died and publish heartbeats in its name; the Registry then shows the impostor as the agent,
 * and the real agent, restarted, finds its name taken. Under the safe profile (`hub.identities:
 * true`) every agent joins as its own instance id and may register and publish only under its
 * own address; the Registry counts a heartbeat only from the identity of its address.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { identityRouterConfigInput } from '../../lib/router/identity-profile.js';
import { agentTicket } from '../../lib/site-config/identities.js';
import { WampConnection, type WampAuth } from '../../lib/wamp/connection.js';
import { spawnOcs } from '../helpers/agent-process.js';
import { registerCleanup, startTestRouter } from '../helpers/router.js';
import { startUp } from '../helpers/up-process.js';
import { waitFor } from '../helpers/wait.js';
import { RawSession } from '../integration/router/raw-session.js';

const ROOT = 'observatory';
const KEY = 'a'.repeat(64);
const TICKETS = { 'fake-data1': agentTicket(KEY, 'fake-data1'), registry: agentTicket(KEY, 'registry') };

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function join(url: string, auth?: WampAuth) {
  const conn = new WampConnection({ url, realm: 'test_realm', ...(auth ? { auth } : {}) });
  registerCleanup(() => conn.close());
  return conn.open();
}

function heartbeat(id: string): unknown[] {
  return [[{ acq: 3 }, { agent_address: `${ROOT}.${id}`, agent_class: 'FakeDataAgent', session_id: '1.0' }]];
}

/** The WAMP error a raw JSON session gets for one request. */
async function errorOf(s: RawSession, msg: unknown[], type: number): Promise<string | undefined> {
  s.send(msg);
  const reply = await s.next((m) => (m[0] === 8 && m[2] === msg[1]) || (m[0] !== 8 && m[1] === msg[1]));
  return reply[0] === 8 ? (reply[4] as string) : reply[0] === type ? undefined : `unexpected ${JSON.stringify(reply)}`;
}

describe('agent identities (the safe profile)', () => {
  it('lets nobody register or publish under an address that is not their own', async () => {
    const router = await startTestRouter(identityRouterConfigInput('test_realm', ROOT, TICKETS));
    // the squatter: anonymous, as anyone on the host
    const squatter = await RawSession.join(router.url, 'test_realm');
    expect(await errorOf(squatter, [64, 1, {}, `${ROOT}.fake-data1.ops`], 65)).toBe('wamp.error.not_authorized');
    expect(await errorOf(squatter, [64, 2, {}, `${ROOT}.fake-data1`], 65)).toBe('wamp.error.not_authorized');
    expect(await errorOf(squatter, [16, 3, { acknowledge: true }, `${ROOT}.fake-data1.feeds.heartbeat`, heartbeat('fake-data1')], 17)).toBe('wamp.error.not_authorized');
    expect(await errorOf(squatter, [48, 4, {}, 'wamp.session.kill', [1]], 50)).toBe('wamp.error.not_authorized');

    // another agent, with an identity of its own, cannot take fake-data1's address either
    const other = await join(router.url, { authid: 'registry', method: 'ticket', secret: TICKETS.registry });
    await expect(other.register(`${ROOT}.fake-data1.ops`, () => 'impostor')).rejects.toMatchObject({ error: 'wamp.error.not_authorized' });
    await expect(other.publish(`${ROOT}.fake-data1.feeds.heartbeat`, heartbeat('fake-data1'), {}, { acknowledge: true })).rejects.toMatchObject({ error: 'wamp.error.not_authorized' });
    // a wrong ticket does not get in at all
    await expect(join(router.url, { authid: 'fake-data1', method: 'ticket', secret: TICKETS.registry })).rejects.toBeDefined();

    // the owner registers and publishes under its own address, disclosed as itself; clients call and subscribe
    const owner = await join(router.url, { authid: 'fake-data1', method: 'ticket', secret: TICKETS['fake-data1'] });
    await owner.register(`${ROOT}.fake-data1.ops`, () => 'real');
    const client = await join(router.url);
    expect(await client.call(`${ROOT}.fake-data1.ops`)).toBe('real');
    const seen: (string | undefined)[] = [];
    await client.subscribe(`${ROOT}..feeds.heartbeat`, (_a, _k, details) => seen.push(details.publisher_authid), { match: 'wildcard' });
    await owner.publish(`${ROOT}.fake-data1.feeds.heartbeat`, heartbeat('fake-data1'), {}, { acknowledge: true });
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(['fake-data1']);
  });

  it('runs the whole system under `ocs up` with identities on, and a squatter gets nowhere', async () => {
    const up = await startUp({ hub: { identities: true } });
    cleanups.push(() => up.cleanup());
    await up.waitForLine(`agent identities on: each agent registers and publishes only under its own address (key ${up.stateDir}/identity.key)`);
    for (const line of ['up: registry (RegistryAgent)', 'up: fake-data1 (FakeDataAgent)', 'up: fake-data2 (FakeDataAgent)']) await up.waitForLine(line);

    // clients work: an op of fake-data1 over WAMP, and the registry's table
    const fd1 = await OcsClient.connect('fake-data1', { url: up.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });
    cleanups.push(() => fd1.close());
    expect((await fd1.op('acq').status()).session).toMatchObject({ status: 'running' });
    const registry = await OcsClient.connect('registry', { url: up.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });
    cleanups.push(() => registry.close());
    await waitFor(async () => {
      const s = (await registry.op('main').status()).session as { data?: Record<string, { expired: boolean }> };
      return ['fake-data1', 'fake-data2', 'hm-localhost'].every((id) => s.data?.[`${ROOT}.${id}`]?.expired === false);
    });

    // each child holds its own ticket only, never the key
    const hm = await OcsClient.connect('hm-localhost', { url: up.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });
    cleanups.push(() => hm.close());
    const services = ((await hm.op('manager').status()).session as unknown as { data: { services: Record<string, { pid: number }> } }).data.services;
    const key = readFileSync(joinPath(up.stateDir, 'identity.key'), 'utf8').trim();
    for (const id of ['registry', 'fake-data1']) {
      const environ = readFileSync(`/proc/${services[id]!.pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain(`OCS_AGENT_TICKET=${agentTicket(key, id)}`);
      expect(environ.some((v) => v.startsWith('OCS_IDENTITY_KEY_FILE='))).toBe(false);
    }

    // a squatter on the same router: no registration, no heartbeat, no kill
    const squatter = await RawSession.join(up.url, 'test_realm');
    expect(await errorOf(squatter, [64, 1, {}, `${ROOT}.fake-data1.ops`], 65)).toBe('wamp.error.not_authorized');
    expect(await errorOf(squatter, [64, 2, {}, `${ROOT}.ghost.ops`], 65)).toBe('wamp.error.not_authorized');
    expect(await errorOf(squatter, [16, 3, { acknowledge: true }, `${ROOT}.ghost.feeds.heartbeat`, heartbeat('ghost')], 17)).toBe('wamp.error.not_authorized');
    const s = (await registry.op('main').status()).session as { data?: Record<string, unknown> };
    expect(Object.keys(s.data ?? {})).not.toContain(`${ROOT}.ghost`);
    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
  }, 150_000);

  it('has the Registry count a heartbeat only from the identity of its address, on a router that lets others publish', async () => {
    // a permissive router (as a crossbar config might be): clients may publish anything, disclosed
    const profile = identityRouterConfigInput('test_realm', ROOT, TICKETS);
    const lax = {
      ...profile,
      realms: profile.realms!.map((r) => ({
        ...r,
        roles: r.roles!.map((role) =>
          role.name === 'client' ? { ...role, permissions: [{ uri: '', match: 'prefix' as const, allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { caller: false, publisher: true } }] } : role,
        ),
      })),
    };
    const router = await startTestRouter(lax);
    const dir = mkdtempSync(joinPath(tmpdir(), 'ocs-identities-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const siteFile = joinPath(dir, 'site.yaml');
    writeFileSync(
      siteFile,
      stringify({
        hub: { wamp_server: router.url, wamp_http: router.httpUrl, wamp_realm: 'test_realm', address_root: ROOT, identities: true },
        hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'RegistryAgent', 'instance-id': 'registry' }, { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1' }] } },
      }),
    );
    // without its ticket an agent of this site says so and exits 78
    const noTicket = spawnOcs(['agent', '--site-file', siteFile, '--site-host', 'localhost', '--instance-id', 'registry'], { OCS_AGENT_TICKET: '', OCS_IDENTITY_KEY_FILE: '' });
    expect(await noTicket.exited).toBe(78);
    expect(noTicket.stderr()).toContain("the site uses agent identities (hub.identities: true), but 'registry' has no ticket");

    const registryProc = spawnOcs(['agent', '--site-file', siteFile, '--site-host', 'localhost', '--instance-id', 'registry'], { OCS_AGENT_TICKET: TICKETS.registry });
    cleanups.push(() => registryProc.kill('SIGKILL'));
    await registryProc.waitForLog('joined and registered', 30_000);
    const owner = await join(router.url, { authid: 'fake-data1', method: 'ticket', secret: TICKETS['fake-data1'] });
    const forger = await join(router.url);
    const registry = await OcsClient.connect('registry', { url: router.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });
    cleanups.push(() => registry.close());
    const table = async () => (((await registry.op('main').status()).session as { data?: Record<string, unknown> }).data ?? {});
    await waitFor(async () => {
      // both beat: the forger for fake-data1 and for a ghost, the owner for itself
      await forger.publish(`${ROOT}.ghost.feeds.heartbeat`, heartbeat('ghost'), {}, { acknowledge: true });
      await forger.publish(`${ROOT}.fake-data1.feeds.heartbeat`, [[{ forged: 3 }, { agent_address: `${ROOT}.fake-data1`, agent_class: 'Impostor', session_id: '2.0' }]], {}, { acknowledge: true });
      await owner.publish(`${ROOT}.fake-data1.feeds.heartbeat`, heartbeat('fake-data1'), {}, { acknowledge: true });
      return Object.keys(await table()).includes(`${ROOT}.fake-data1`);
    });
    const t = (await table()) as Record<string, { agent_class: string; op_codes: Record<string, number> }>;
    expect(Object.keys(t)).not.toContain(`${ROOT}.ghost`);
    expect(t[`${ROOT}.fake-data1`]).toMatchObject({ agent_class: 'FakeDataAgent', op_codes: { acq: 3 } });
    await waitFor(() => registryProc.records.some((r) => r['reason'] === 'publisher_mismatch'), { what: 'the drop logged' });
  }, 60_000);

  it('runs the profile as `ocs router --identities` and prints it for crossbar', async () => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'ocs-identities-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const siteFile = joinPath(dir, 'site.yaml');
    const keyFile = joinPath(dir, 'identity.key');
    writeFileSync(keyFile, `${KEY}\n`);
    writeFileSync(
      siteFile,
      stringify({
        hub: { wamp_server: 'ws://127.0.0.1:8001/ws', wamp_realm: 'test_realm', address_root: ROOT, identities: true },
        hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'RegistryAgent', 'instance-id': 'registry' }, { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1' }] } },
      }),
    );
    const printed = spawnOcs(['router', '--identities', '--site-file', siteFile, '--key-file', keyFile, '--crossbar-config']);
    expect(await printed.exited).toBe(0);
    const crossbar = JSON.parse(printed.records.map((r) => (r['raw'] as string | undefined) ?? JSON.stringify(r)).join('\n')) as {
      workers: { realms: { roles: { name: string }[] }[]; transports: { paths: { ws: { auth: { ticket: { principals: Record<string, { ticket: string; role: string }> } } } } }[] }[];
    };
    expect(crossbar.workers[0]!.transports[0]!.paths.ws.auth.ticket.principals).toEqual({
      registry: { ticket: TICKETS.registry, role: 'agent-registry' },
      'fake-data1': { ticket: TICKETS['fake-data1'], role: 'agent-fake-data1' },
    });
    expect(crossbar.workers[0]!.realms[0]!.roles.map((r) => r.name)).toEqual(['client', 'agent-registry', 'agent-fake-data1']);

    const router = spawnOcs(['router', '--identities', '--site-file', siteFile, '--key-file', keyFile, '--port', '0']);
    cleanups.push(() => router.kill('SIGKILL'));
    const listening = await router.waitForLog(/^router listening on /);
    const url = String(listening['raw']).slice('router listening on '.length);
    const squatter = await RawSession.join(url, 'test_realm');
    expect(await errorOf(squatter, [64, 1, {}, `${ROOT}.fake-data1.ops`], 65)).toBe('wamp.error.not_authorized');
    const owner = await join(url, { authid: 'fake-data1', method: 'ticket', secret: TICKETS['fake-data1'] });
    await owner.register(`${ROOT}.fake-data1.ops`, () => 'real');
    expect(await (await join(url)).call(`${ROOT}.fake-data1.ops`)).toBe('real');
  });
});
