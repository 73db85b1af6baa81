import { describe, expect, it } from 'vitest';
import { OcsClient, attributeName, type OcsClientOptions } from '../../../lib/client/ocs-client.js';
import type { ClientTransport, TransportCallOptions } from '../../../lib/client/client-transport.js';
import { hasSession } from '../../../lib/client/op-reply.js';
import {
  AgentUnavailableError,
  ConfigError,
  errorFromWamp,
  InternalError,
  InvalidParamsError,
  OpNotFoundError,
  OpTimeoutError,
  RouterUnavailableError,
} from '../../../lib/errors.js';

interface Call {
  procedure: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: TransportCallOptions | undefined;
}

const SESSION = {
  session_id: 6,
  op_name: 'delay_task',
  op_code: 5,
  cred_level: 1,
  status: 'done',
  degraded: false,
  success: true,
  start_time: 1635791278.562,
  end_time: 1635791279.567,
  data: { requested_delay: 1.0, delay_so_far: 1.003 },
  messages: [
    [1635791278.562, 'Status is now "starting".'],
    [1635791279.567, 'Status is now "done".'],
  ],
};

function getApi(extra: Record<string, unknown> = {}) {
  return {
    agent_class: 'FakeDataAgent',
    instance_hostname: 'ocs-docker',
    instance_pid: 12345,
    feeds: [],
    processes: [
      ['acq', { op_name: 'acq', status: 'no_history' }, { blocking: true, docstring: 'acq()', op_type: 'process', min_privs: 1 }],
      ['count-up', { op_name: 'count-up', status: 'no_history' }, { blocking: false, docstring: null, op_type: 'process', min_privs: 1 }],
    ],
    tasks: [
      ['delay_task', { op_name: 'delay_task', status: 'no_history' }, { blocking: false, abortable: true, docstring: 'delay_task(delay=5)', op_type: 'task', min_privs: 1 }],
      ['set heartbeat', { op_name: 'set heartbeat', status: 'no_history' }, { blocking: true, abortable: false, docstring: null, op_type: 'task', min_privs: 1 }],
    ],
    access_control: { version: 1, policy: 'none', update_timestamp: 1700000000.1, update_count: 0, step: 0 },
    ...extra,
  };
}

/** A transport that answers like an OCS agent and records every call. */
class FakeTransport implements ClientTransport {
  readonly kind = 'http' as const;
  readonly calls: Call[] = [];
  isClosed = false;
  api: unknown = getApi();
  reply: (call: Call) => unknown = (call) => {
    const [action, op] = call.args as [string, string];
    if (action === 'start') return [0, `Started task "${op}".`, { ...SESSION, status: 'starting', op_code: 2, success: null, end_time: null }];
    if (action === 'wait') return [0, `Operation "${op}" is currently not running (SUCCEEDED).`, SESSION];
    if (action === 'status') return [0, 'No session active.', {}];
    return [0, `Requested stop on process ${op}".`, SESSION];
  };

  async call(procedure: string, args: unknown[], kwargs: Record<string, unknown>, options?: TransportCallOptions): Promise<unknown> {
    const call = { procedure, args, kwargs, options };
    this.calls.push(call);
    if (procedure === 'observatory.fake-data1') {
      if (this.api instanceof Error) throw this.api;
      return this.api;
    }
    return this.reply(call);
  }

  async close(): Promise<void> {
    this.isClosed = true;
  }
}

async function connect(options: OcsClientOptions = {}, transport = new FakeTransport()) {
  const client = await OcsClient.connect('fake-data1', { via: transport, ...options });
  return { client, transport };
}

describe('OcsClient', () => {
  it('reads get_api from the management procedure with ONE positional argument', async () => {
    const { client, transport } = await connect();
    expect(transport.calls).toEqual([{ procedure: 'observatory.fake-data1', args: ['get_api'], kwargs: {}, options: {} }]);
    expect(client.address).toBe('observatory.fake-data1');
    expect(client.agentClass).toBe('FakeDataAgent');
    expect(client.transportKind).toBe('http');
    expect(client.api.instance_pid).toBe(12345);
  });

  it('builds one handle per op with dashes and spaces turned into underscores', async () => {
    const { client } = await connect();
    expect(Object.keys(client.ops).sort()).toEqual(['acq', 'count_up', 'delay_task', 'set_heartbeat']);
    expect(client.ops['delay_task']?.opType).toBe('task');
    expect(client.ops['acq']?.opType).toBe('process');
    expect(client.ops['count_up']?.name).toBe('count-up');
    expect(client.ops['set_heartbeat']?.name).toBe('set heartbeat');
    expect(client.ops['delay_task']?.info.docstring).toBe('delay_task(delay=5)');
    expect(attributeName('a-b c')).toBe('a_b_c');
  });

  it('sends start with the params positionally and unwraps the single reply value', async () => {
    const { client, transport } = await connect();
    const reply = await client.task('delay_task').start({ delay: 1 });
    expect(transport.calls[1]).toEqual({ procedure: 'observatory.fake-data1.ops', args: ['start', 'delay_task', { delay: 1 }], kwargs: {}, options: {} });
    expect(reply.status).toBe(0);
    expect(reply.message).toBe('Started task "delay_task".');
    expect(hasSession(reply) && reply.session.status).toBe('starting');
    expect(Object.keys(reply)).toEqual(['status', 'message', 'session']);
  });

  it('sends wait with kwargs {timeout}, null when none is given', async () => {
    const { client, transport } = await connect();
    await client.ops['delay_task']?.wait({ timeoutS: 5 });
    await client.ops['delay_task']?.wait();
    expect(transport.calls[1]).toMatchObject({ args: ['wait', 'delay_task', {}], kwargs: { timeout: 5 } });
    expect(transport.calls[2]).toMatchObject({ args: ['wait', 'delay_task', {}], kwargs: { timeout: null } });
  });

  it('sends status, stop and abort as [action, op, {}] without kwargs', async () => {
    const { client, transport } = await connect();
    const status = await client.process('acq').status();
    await client.process('count-up').stop();
    await client.task('delay_task').abort();
    expect(transport.calls.slice(1).map((c) => [c.args, c.kwargs])).toEqual([
      [['status', 'acq', {}], {}],
      [['stop', 'count-up', {}], {}],
      [['abort', 'delay_task', {}], {}],
    ]);
    expect(status).toEqual({ status: 0, message: 'No session active.', session: {} });
    expect(hasSession(status)).toBe(false);
  });

  it('returns the full 11-key session', async () => {
    const { client } = await connect();
    const reply = await client.task('delay_task').wait();
    expect(hasSession(reply)).toBe(true);
    if (!hasSession(reply)) return;
    expect(Object.keys(reply.session)).toEqual([
      'session_id',
      'op_name',
      'op_code',
      'cred_level',
      'status',
      'degraded',
      'success',
      'start_time',
      'end_time',
      'data',
      'messages',
    ]);
    expect(reply.session.messages[1]).toEqual([1635791279.567, 'Status is now "done".']);
  });

  it('call() starts then waits, and stops after a refused start', async () => {
    const { client, transport } = await connect();
    const done = await client.task('delay_task').call({ delay: 1 }, { timeoutS: 3 });
    expect(done.message).toBe('Operation "delay_task" is currently not running (SUCCEEDED).');
    expect(transport.calls.slice(1).map((c) => c.args[0])).toEqual(['start', 'wait']);
    expect(transport.calls[2]?.kwargs).toEqual({ timeout: 3 });

    transport.reply = () => [-1, 'Operation "delay_task" already in progress.', SESSION];
    const refused = await client.task('delay_task').call({ delay: 1 });
    expect(refused.status).toBe(-1);
    expect(transport.calls.slice(3).map((c) => c.args[0])).toEqual(['start']);
  });

  describe('password', () => {
    it('is sent on every ops call when the agent has access control and it is non-empty', async () => {
      const { client, transport } = await connect({ password: 'pw2' });
      await client.task('delay_task').start({ delay: 1 });
      await client.task('delay_task').wait({ timeoutS: 1 });
      await client.process('acq').stop();
      expect(transport.calls.slice(1).map((c) => c.kwargs)).toEqual([{ password: 'pw2' }, { timeout: 1, password: 'pw2' }, { password: 'pw2' }]);
      // never on the management call
      expect(transport.calls[0]?.kwargs).toEqual({});
    });

    it('is not sent when the agent has no access_control', async () => {
      const transport = new FakeTransport();
      const { access_control: _, ...legacy } = getApi();
      transport.api = legacy;
      const { client } = await connect({ password: 'pw2' }, transport);
      await client.task('delay_task').start();
      expect(transport.calls[1]?.kwargs).toEqual({});
      expect(transport.calls[1]?.args).toEqual(['start', 'delay_task', {}]);
    });

    it('is not sent when empty', async () => {
      const { client, transport } = await connect({ password: '' });
      await client.task('delay_task').start();
      expect(transport.calls[1]?.kwargs).toEqual({});
    });
  });

  describe('errors', () => {
    it('throws OpNotFoundError for an op the agent does not have', async () => {
      const { client } = await connect();
      expect(() => client.op('nope')).toThrow(OpNotFoundError);
      expect(() => client.op('nope')).toThrow('agent observatory.fake-data1 (FakeDataAgent) has no operation "nope"');
      expect(client.op('set heartbeat').name).toBe('set heartbeat');
      expect(client.op('count_up').name).toBe('count-up');
    });

    it('refuses a task handle for a process and the reverse', async () => {
      const { client } = await connect();
      expect(() => client.task('acq')).toThrow(InvalidParamsError);
      expect(() => client.process('delay_task')).toThrow('operation "delay_task" of observatory.fake-data1 is a task, not a process');
    });

    it('throws AgentUnavailableError naming the address when no agent is registered, and closes its transport', async () => {
      const transport = new FakeTransport();
      transport.api = errorFromWamp('wamp.error.no_such_procedure', ['no callee registered for procedure <observatory.fake-data1>']);
      const error = await OcsClient.connect('fake-data1', { via: transport }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentUnavailableError);
      expect((error as Error).message).toBe('no agent is registered at observatory.fake-data1');
      expect((error as AgentUnavailableError).details).toMatchObject({ address: 'observatory.fake-data1', uri: 'wamp.error.no_such_procedure' });
      // a shared transport stays open
      expect(transport.isClosed).toBe(false);
    });

    it('throws InternalError when get_api is not an OCS API', async () => {
      const transport = new FakeTransport();
      transport.api = null;
      await expect(OcsClient.connect('fake-data1', { via: transport })).rejects.toThrow(InternalError);
      transport.api = { ...getApi(), tasks: [['delay_task', {}]] };
      await expect(OcsClient.connect('fake-data1', { via: transport })).rejects.toThrow('observatory.fake-data1 did not answer get_api like an OCS agent');
    });

    it('throws InternalError for a reply that is not [code, message, session]', async () => {
      const { client, transport } = await connect();
      for (const bad of [[0, 'x', {}, 'extra'], 0, [0, 'x'], [0, 'x', { session_id: 1 }], null]) {
        transport.reply = () => bad;
        await expect(client.task('delay_task').status()).rejects.toThrow(InternalError);
      }
    });

    it('passes typed errors from the agent through', async () => {
      const { client, transport } = await connect();
      transport.reply = () => {
        throw errorFromWamp('ocs.error.invalid_params', ['bad delay'], { code: 'INVALID_PARAMS', details: { key: 'delay' } });
      };
      const error = await client.task('delay_task').start({ delay: -1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidParamsError);
      expect((error as InvalidParamsError).details).toEqual({ key: 'delay' });
      transport.reply = () => {
        throw errorFromWamp('wamp.error.canceled', ['callee left']);
      };
      await expect(client.task('delay_task').wait()).rejects.toThrow(OpTimeoutError);
    });

    it('reports a session close relayed as a call error as RouterUnavailableError', async () => {
      const { client, transport } = await connect();
      transport.reply = () => {
        throw errorFromWamp('wamp.close.system_shutdown', ['the router is shutting down']);
      };
      const error = await client.task('delay_task').wait().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RouterUnavailableError);
      expect((error as RouterUnavailableError).details).toMatchObject({ uri: 'wamp.close.system_shutdown', address: 'observatory.fake-data1' });
    });

    it('refuses bad instance ids and missing URLs with ConfigError', async () => {
      await expect(OcsClient.connect('a.b', { via: new FakeTransport() })).rejects.toThrow(ConfigError);
      await expect(OcsClient.connect('', { via: new FakeTransport() })).rejects.toThrow(ConfigError);
      await expect(OcsClient.connect('fake-data1', {})).rejects.toThrow('no router URL');
      await expect(OcsClient.connect('fake-data1', { transport: 'http', url: 'ws://x/ws' })).rejects.toThrow('needs the bridge URL');
    });
  });

  describe('call deadlines', () => {
    it('applies callTimeoutMs to every call and stretches it by a wait timeout', async () => {
      const { client, transport } = await connect({ callTimeoutMs: 2000 });
      await client.task('delay_task').start();
      await client.task('delay_task').wait({ timeoutS: 10 });
      await client.task('delay_task').wait();
      await client.task('delay_task').wait({ timeoutS: 10, callTimeoutMs: 500 });
      await client.task('delay_task').status({ callTimeoutMs: 50 });
      expect(transport.calls.map((c) => c.options)).toEqual([
        { timeoutMs: 2000 },
        { timeoutMs: 2000 },
        { timeoutMs: 12000 },
        { timeoutMs: 2000 },
        { timeoutMs: 500 },
        { timeoutMs: 50 },
      ]);
    });

    it('sets no deadline by default', async () => {
      const { client, transport } = await connect();
      await client.task('delay_task').wait();
      expect(transport.calls.map((c) => c.options)).toEqual([{}, {}]);
    });
  });

  it('uses the address root and keeps a shared transport open on close', async () => {
    const transport = new FakeTransport();
    transport.api = getApi();
    const calls: string[] = [];
    const original = transport.call.bind(transport);
    transport.call = (procedure, args, kwargs, options) => {
      calls.push(procedure);
      return original(procedure === 'site.fake-data1' ? 'observatory.fake-data1' : procedure, args, kwargs, options);
    };
    const client = await OcsClient.connect('fake-data1', { via: transport, addressRoot: 'site' });
    expect(client.address).toBe('site.fake-data1');
    await client.task('delay_task').status();
    expect(calls).toEqual(['site.fake-data1', 'site.fake-data1.ops']);
    await client.close();
    expect(transport.isClosed).toBe(false);
  });
});
