import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OcsClient, type OcsClientOptions } from '../../../lib/client/ocs-client.js';
import { hasSession } from '../../../lib/client/op-reply.js';
import type { TransportKind } from '../../../lib/client/client-transport.js';
import { AgentUnavailableError, InternalError, NotAuthorizedError, OpNotFoundError, OpTimeoutError, RouterUnavailableError } from '../../../lib/errors.js';
import { startRouter } from '../../../lib/router/index.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';
import { startOcsPeer, type OcsPeer } from './ocs-peer.js';

type PeerOps = { delay_task: 'task'; acq: 'process'; explode: 'task'; locked: 'task' };

let router: TestRouter;
const addressRoot = `t${randomBytes(4).toString('hex')}`;
let nextInstance = 0;

beforeAll(async () => {
  router = await startTestRouter();
});

async function peer(hasAccessControl = true): Promise<OcsPeer> {
  const instanceId = `peer-${nextInstance++}`;
  const p = await startOcsPeer({ url: router.url, realm: router.realm, address: `${addressRoot}.${instanceId}`, hasAccessControl });
  onTestFinished(() => p.close());
  return p;
}

function instanceOf(p: OcsPeer): string {
  return p.address.slice(addressRoot.length + 1);
}

async function connect(kind: TransportKind, p: OcsPeer, options: OcsClientOptions = {}): Promise<OcsClient<PeerOps>> {
  const client = await OcsClient.connect<PeerOps>(instanceOf(p), { url: router.url, httpUrl: router.httpUrl, realm: router.realm, addressRoot, transport: kind, ...options });
  onTestFinished(() => client.close());
  return client;
}

describe.each(['http', 'wamp'] as const)('OcsClient over %s', (kind) => {
  it('discovers the ops and runs a task to completion', async () => {
    const p = await peer();
    const client = await connect(kind, p);
    expect(client.transportKind).toBe(kind);
    expect(client.agentClass).toBe('OcsPeer');
    expect(client.opNames.sort()).toEqual(['acq', 'delay_task', 'explode', 'locked']);

    const started = await client.ops.delay_task.start({ delay: 0.2 });
    expect(started.status).toBe(0);
    expect(started.message).toBe('Started task "delay_task".');
    expect(hasSession(started) && started.session.status).toBe('starting');

    const done = await client.ops.delay_task.wait({ timeoutS: 10 });
    expect(done.status).toBe(0);
    expect(done.message).toBe('Operation "delay_task" is currently not running (SUCCEEDED).');
    if (!hasSession(done)) throw new Error('no session');
    expect(done.session).toMatchObject({ op_name: 'delay_task', status: 'done', success: true, op_code: 5, data: { requested_delay: 0.2 } });
    expect(typeof done.session.end_time).toBe('number');

    expect(p.calls.map((c) => [c.args, c.kwargs])).toEqual([
      [['start', 'delay_task', { delay: 0.2 }], {}],
      [['wait', 'delay_task', {}], { timeout: 10 }],
    ]);
  });

  it('connects with the hub of a site file', async () => {
    const p = await peer();
    const dir = mkdtempSync(join(tmpdir(), 'ocs-client-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'site.yaml');
    writeFileSync(file, `hub:\n  wamp_server: ${router.url}\n  wamp_http: ${router.httpUrl}\n  wamp_realm: ${router.realm}\n  address_root: ${addressRoot}\nhosts: {}\n`);
    const client = await OcsClient.connect<PeerOps>(instanceOf(p), { siteFile: file, transport: kind });
    onTestFinished(() => client.close());
    expect(client.address).toBe(p.address);
    expect((await client.ops.acq.status()).message).toBe('No session active.');
  });

  it('returns a TIMEOUT reply when the agent-side wait runs out', async () => {
    const client = await connect(kind, await peer());
    await client.ops.delay_task.start({ delay: 30 });
    const reply = await client.ops.delay_task.wait({ timeoutS: 0.05 });
    expect(reply.status).toBe(1);
    expect(reply.message).toBe('Operation "delay_task" still running; wait timed out.');
    const aborted = await client.ops.delay_task.abort();
    expect(aborted.status).toBe(0);
    const end = await client.ops.delay_task.wait({ timeoutS: 5 });
    expect(end.message).toBe('Operation "delay_task" is currently not running (FAILED).');
  });

  it('starts, inspects and stops a process', async () => {
    const client = await connect(kind, await peer());
    expect(await client.ops.acq.status()).toEqual({ status: 0, message: 'No session active.', session: {} });
    await client.ops.acq.start();
    const running = await client.process('acq').status();
    expect(running.message).toBe('Session active.');
    expect(hasSession(running) && running.session.status).toBe('running');
    const stop = await client.ops.acq.stop();
    expect(stop).toMatchObject({ status: 0, message: 'Requested stop on process acq".' });
    const done = await client.ops.acq.wait({ timeoutS: 5 });
    expect(hasSession(done) && done.session.success).toBe(true);
  });

  it('call() starts and waits in one go; a refused start comes back as a reply', async () => {
    const client = await connect(kind, await peer());
    const done = await client.ops.delay_task.call({ delay: 0.05 }, { timeoutS: 5 });
    expect(done.message).toBe('Operation "delay_task" is currently not running (SUCCEEDED).');
    const refused = await client.ops.delay_task.start({ delay: -1 });
    expect(refused).toEqual({ status: -1, message: "Param 'delay' failed validity check (see docs?).", session: {} });
  });

  it('sends the password only to agents with access control', async () => {
    const guarded = await peer(true);
    const open = await peer(false);
    await (await connect(kind, guarded, { password: 'pw2' })).ops.acq.status();
    await (await connect(kind, open, { password: 'pw2' })).ops.acq.status();
    expect(guarded.calls[0]?.kwargs).toEqual({ password: 'pw2' });
    expect(open.calls[0]?.kwargs).toEqual({});
  });

  it('throws AgentUnavailableError when no agent is registered at the address', async () => {
    const error = await OcsClient.connect('nobody', { url: router.url, httpUrl: router.httpUrl, realm: router.realm, addressRoot, transport: kind }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnavailableError);
    expect((error as Error).message).toBe(`no agent is registered at ${addressRoot}.nobody`);
  });

  it('throws AgentUnavailableError when the agent left after connect', async () => {
    const p = await peer();
    const client = await connect(kind, p);
    await p.close();
    await waitFor(async () => (await client.ops.acq.status().catch((e: unknown) => e)) instanceof AgentUnavailableError, { what: 'agent gone', timeoutMs: 5000 });
  });

  it('throws OpNotFoundError for an op the agent does not have', async () => {
    const client = await connect(kind, await peer());
    expect(() => client.op('nope')).toThrow(OpNotFoundError);
    expect((client.ops as Record<string, unknown>)['nope']).toBeUndefined();
  });

  it('relays an agent error as a typed error', async () => {
    const client = await connect(kind, await peer());
    const crash = await client.ops.explode.start().catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(InternalError);
    expect((crash as InternalError).details).toMatchObject({ uri: 'wamp.error.runtime_error', args: ['ZeroDivisionError: division by zero'] });
    const denied = await client.ops.locked.start().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(NotAuthorizedError);
    expect((denied as NotAuthorizedError).message).toBe('the action requires credential level 2');
    expect((denied as NotAuthorizedError).details).toEqual({ level: 1 });
  });

  it('gives up after callTimeoutMs with OpTimeoutError and keeps working', async () => {
    const client = await connect(kind, await peer());
    await client.ops.delay_task.start({ delay: 30 });
    const t0 = Date.now();
    const error = await client.ops.delay_task.wait({ callTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpTimeoutError);
    expect(Date.now() - t0).toBeLessThan(5000);
    const status = await client.ops.delay_task.status();
    expect(hasSession(status) && status.session.status).toBe('running');
  });

  it('turns a call cancelled by the router (the agent left mid-call) into OpTimeoutError', async () => {
    const p = await peer();
    const client = await connect(kind, p);
    await client.ops.delay_task.start({ delay: 30 });
    const pending = client.ops.delay_task.wait().catch((e: unknown) => e);
    await waitFor(() => p.calls.length === 2, { what: 'wait call delivered' });
    await p.close();
    const error = await pending;
    expect(error).toBeInstanceOf(OpTimeoutError);
  });

  it('fails a pending call with RouterUnavailableError when the router goes away', async () => {
    const own = await startRouter({ port: 0, shutdownGraceMs: 200 });
    onTestFinished(() => own.close());
    const p = await startOcsPeer({ url: own.url, realm: 'test_realm', address: `${addressRoot}.doomed` });
    onTestFinished(() => p.close());
    const client = await OcsClient.connect<PeerOps>('doomed', { url: own.url, httpUrl: own.httpUrl, realm: 'test_realm', addressRoot, transport: kind });
    onTestFinished(() => client.close());
    await client.ops.delay_task.start({ delay: 30 });
    const pending = client.ops.delay_task.wait().catch((e: unknown) => e);
    await waitFor(() => p.calls.length === 2, { what: 'wait call delivered' });
    await own.close();
    const error = await pending;
    // RouterUnavailableError, or OpTimeoutError when the router cancelled the call because the
    // agent's session closed first
    expect([RouterUnavailableError, OpTimeoutError].some((c) => error instanceof c)).toBe(true);
    await expect(client.ops.delay_task.status()).rejects.toThrow(RouterUnavailableError);
  });

  it('throws RouterUnavailableError when the router cannot be reached', async () => {
    const dead = await startRouter({ port: 0 });
    await dead.close();
    const error = await OcsClient.connect('x', { url: dead.url, httpUrl: dead.httpUrl, addressRoot, transport: kind }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterUnavailableError);
  });
});
