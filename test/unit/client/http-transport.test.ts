import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpTransport, type HttpPost } from '../../../lib/client/http-transport.js';
import { AgentUnavailableError, ConfigError, InternalError, InvalidParamsError, OpTimeoutError, RouterUnavailableError } from '../../../lib/errors.js';

const URL = 'http://127.0.0.1:8001/call';

function transportAnswering(status: number, body: unknown) {
  const sent: { url: string; body: unknown }[] = [];
  const post: HttpPost = async (url, text) => {
    sent.push({ url, body: JSON.parse(text) });
    return { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
  };
  return { transport: new HttpTransport({ url: URL, post }), sent };
}

describe('HttpTransport', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('posts {procedure, args, kwargs} and answers args[0]', async () => {
    const { transport, sent } = transportAnswering(200, { args: [[0, 'Started task "delay_task".', {}]] });
    const result = await transport.call('observatory.fake-data1.ops', ['start', 'delay_task', { delay: 1 }], {});
    expect(sent).toEqual([{ url: URL, body: { procedure: 'observatory.fake-data1.ops', args: ['start', 'delay_task', { delay: 1 }], kwargs: {} } }]);
    expect(result).toEqual([0, 'Started task "delay_task".', {}]);
    expect(transport.kind).toBe('http');
  });

  it('answers null when the callee returned nothing', async () => {
    const { transport } = transportAnswering(200, {});
    expect(await transport.call('p', [], {})).toBeNull();
  });

  it('rebuilds typed errors from a 200 error body', async () => {
    const noAgent = transportAnswering(200, { error: 'wamp.error.no_such_procedure', args: ['no callee registered for procedure <x>'], kwargs: {} });
    await expect(noAgent.transport.call('x', [], {})).rejects.toThrow(AgentUnavailableError);
    const invalid = transportAnswering(200, { error: 'ocs.error.invalid_params', args: ['bad delay'], kwargs: { code: 'INVALID_PARAMS', details: { key: 'delay' } } });
    const error = await invalid.transport.call('x', [], {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParamsError);
    expect((error as InvalidParamsError).message).toBe('bad delay');
    expect((error as InvalidParamsError).details).toEqual({ key: 'delay' });
    const runtime = transportAnswering(200, { error: 'wamp.error.runtime_error', args: ['division by zero'], kwargs: {} });
    const relayed = await runtime.transport.call('x', [], {}).catch((e: unknown) => e);
    expect(relayed).toBeInstanceOf(InternalError);
    expect((relayed as InternalError).details).toMatchObject({ uri: 'wamp.error.runtime_error', args: ['division by zero'] });
  });

  it('reports a non-200 status as RouterUnavailableError', async () => {
    const { transport } = transportAnswering(500, { error: 'wamp.error.runtime_error', args: [], kwargs: {} });
    const error = await transport.call('x', [], {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterUnavailableError);
    expect((error as RouterUnavailableError).retryable).toBe(true);
    expect((error as RouterUnavailableError).details).toMatchObject({ status: 500, uri: 'wamp.error.runtime_error' });
    await expect(transportAnswering(404, 'not found').transport.call('x', [], {})).rejects.toThrow('replied with status 404');
  });

  it('reports an unreadable 200 body as InternalError', async () => {
    await expect(transportAnswering(200, '<html>').transport.call('x', [], {})).rejects.toThrow(InternalError);
  });

  it('reports a refused connection as RouterUnavailableError', async () => {
    const post: HttpPost = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8001'), { code: 'ECONNREFUSED' });
    };
    const error = await new HttpTransport({ url: URL, post }).call('x', [], {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterUnavailableError);
    expect((error as RouterUnavailableError).details).toMatchObject({ url: URL, errno: 'ECONNREFUSED' });
  });

  it('abandons a call after timeoutMs with OpTimeoutError', async () => {
    let signal: AbortSignal | undefined;
    const post: HttpPost = (_url, _body, s) =>
      new Promise((_resolve, reject) => {
        signal = s;
        s.addEventListener('abort', () => reject(new Error('aborted')));
      });
    const pending = new HttpTransport({ url: URL, post }).call('observatory.x.ops', ['wait', 'acq', {}], { timeout: null }, { timeoutMs: 250 });
    const settled = pending.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(249);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await settled;
    expect(error).toBeInstanceOf(OpTimeoutError);
    expect((error as Error).message).toBe('call to observatory.x.ops timed out after 250 ms');
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => new HttpTransport({ url: 'ws://127.0.0.1:8001/ws' })).toThrow(ConfigError);
    expect(() => new HttpTransport({ url: 'nonsense' })).toThrow(ConfigError);
  });
});
