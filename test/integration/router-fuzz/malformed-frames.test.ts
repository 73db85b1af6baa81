import { beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { AutobahnSession } from '../../../lib/wamp/autobahn.js';
import { decodeMsgpack } from '../../../lib/wamp/msgpack-decoder.js';
import { encodeMsgpack } from '../../../lib/wamp/msgpack-encoder.js';
import { openSocket, WAMP, type WampMessage } from '../../bench/lib/raw-wamp-client.js';
import { openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { delay, waitFor } from '../../helpers/wait.js';

/**
 * Malformed and hostile frames over raw sockets. Each one must end that connection (ABORT
 * and/or close) and nothing else: a session joined before the fuzzing keeps working, a fresh
 * client joins, calls and receives events afterwards, and no session is left behind.
 */

const MAX_MESSAGE_BYTES = 64 * 1024;
const ANSWER_TIMEOUT_MS = 5000;
const HELLO = JSON.stringify([WAMP.HELLO, 'test_realm', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } }]);

type Frame = string | Buffer | { invalidText: Buffer };

interface FuzzCase {
  name: string;
  protocol?: 'wamp.2.json' | 'wamp.2.msgpack';
  /** Join first (HELLO/WELCOME) and send the frames inside the session. */
  isJoined?: boolean;
  frames: Frame[];
  /** The ABORT reason the router must send, when the case has one defined by the spec. */
  abortReason?: string;
}

interface Answer {
  messages: WampMessage[];
  closeCode: number | undefined;
}

const garbage = Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x80, 0x81]);
const hello = (realm: unknown): string => JSON.stringify([WAMP.HELLO, realm, { roles: { caller: {} } }]);

const CASES: FuzzCase[] = [
  { name: 'bad JSON before HELLO', frames: ['[1, "test_realm", {'] },
  { name: 'bad JSON in a session', isJoined: true, frames: ['{{{{'] },
  { name: 'a JSON object instead of a message', isJoined: true, frames: ['{"a":1}'] },
  { name: 'a bare number', isJoined: true, frames: ['42'] },
  { name: 'a bare string', frames: ['"hello"'] },
  { name: 'null', isJoined: true, frames: ['null'] },
  { name: 'an empty array', isJoined: true, frames: ['[]'] },
  { name: 'HELLO with a numeric realm', frames: [hello(42)] },
  { name: 'HELLO with details that are a list', frames: ['[1,"test_realm",[]]'] },
  { name: 'HELLO without a realm', frames: ['[1]'] },
  { name: 'HELLO for realm com.example.realm', frames: [hello('com.example.realm')], abortReason: 'wamp.error.no_such_realm' },
  { name: 'HELLO for realm ""', frames: [hello('')] },
  { name: 'HELLO for a 10,000-character realm', frames: [hello('r'.repeat(10_000))] },
  { name: 'HELLO for a realm with spaces and NUL', frames: [hello('my realm\u0000')] },
  { name: 'an unknown message code', isJoined: true, frames: ['[999,1,{}]'] },
  { name: 'a reserved message code', isJoined: true, frames: ['[7,{}]'] },
  { name: 'a negative message code', isJoined: true, frames: ['[-1]'] },
  { name: 'a message code given as a string', isJoined: true, frames: ['["48",1,{},"fuzz.echo"]'] },
  { name: 'CALL with a string request id', isJoined: true, frames: ['[48,"x",{},"fuzz.echo"]'] },
  { name: 'CALL with request id 0', isJoined: true, frames: ['[48,0,{},"fuzz.echo"]'] },
  { name: 'CALL with a fractional request id', isJoined: true, frames: ['[48,1.5,{},"fuzz.echo"]'] },
  { name: 'CALL with too few elements', isJoined: true, frames: ['[48,1]'] },
  { name: 'CALL with too many elements', isJoined: true, frames: ['[48,1,{},"fuzz.echo",[],{},"extra"]'] },
  { name: 'PUBLISH whose args are an object', isJoined: true, frames: ['[16,1,{},"fuzz.topic",{"a":1}]'] },
  { name: 'PUBLISH whose kwargs are a list', isJoined: true, frames: ['[16,1,{},"fuzz.topic",[],[1]]'] },
  { name: 'PUBLISH with null args', isJoined: true, frames: ['[16,1,{},"fuzz.topic",null]'] },
  { name: 'PUBLISH with a trailing comma in its args', isJoined: true, frames: ['[16,1,{},"fuzz.topic",[1,]]'] },
  { name: 'PUBLISH with an unterminated string in its kwargs', isJoined: true, frames: ['[16,1,{},"fuzz.topic",[1],{"a":"b}]'] },
  { name: 'CALL with a control character in its args', isJoined: true, frames: ['[48,1,{},"fuzz.echo",["a\u0001"]]'] },
  { name: 'CALL with garbage after the message', isJoined: true, frames: ['[48,1,{},"fuzz.echo",[1]] x'] },
  { name: 'YIELD with a bad escape in its args', isJoined: true, frames: ['[70,1,{},["\\q"]]'] },
  { name: 'ERROR for an INVOCATION with NaN in its args', isJoined: true, frames: ['[8,68,1,{},"app.error",[NaN]]'] },
  { name: 'SUBSCRIBE to a numeric topic', isJoined: true, frames: ['[32,1,{},42]'] },
  { name: 'REGISTER with list options', isJoined: true, frames: ['[64,1,[],"fuzz.x"]'] },
  { name: 'WELCOME sent by a client', isJoined: true, frames: ['[2,1,{}]'] },
  { name: 'binary garbage on a JSON socket before HELLO', frames: [garbage] },
  { name: 'binary garbage on a JSON socket in a session', isJoined: true, frames: [garbage] },
  { name: 'invalid UTF-8 in a text frame', isJoined: true, frames: [{ invalidText: Buffer.from([0x5b, 0xff, 0xfe, 0x5d]) }] },
  { name: 'msgpack garbage', protocol: 'wamp.2.msgpack', frames: [garbage] },
  { name: 'a text frame on a msgpack socket', protocol: 'wamp.2.msgpack', frames: [HELLO] },
  { name: 'a msgpack map instead of HELLO', protocol: 'wamp.2.msgpack', frames: [encodeMsgpack({ a: 1 })] },
  { name: 'a frame over max_message_bytes before HELLO', frames: [JSON.stringify([WAMP.HELLO, 'x'.repeat(MAX_MESSAGE_BYTES * 2), {}])] },
  {
    name: 'a frame over max_message_bytes in a session',
    isJoined: true,
    frames: [JSON.stringify([WAMP.PUBLISH, 1, {}, 'fuzz.topic', ['y'.repeat(MAX_MESSAGE_BYTES * 3)]])],
  },
  {
    name: 'a msgpack frame over max_message_bytes',
    protocol: 'wamp.2.msgpack',
    frames: [encodeMsgpack([WAMP.HELLO, 'test_realm', { pad: 'z'.repeat(MAX_MESSAGE_BYTES * 2) }])],
  },
  { name: 'CALL before HELLO', frames: ['[48,1,{},"fuzz.echo"]'] },
  { name: 'PUBLISH before HELLO', frames: ['[16,1,{},"fuzz.topic",[1]]'] },
  { name: 'AUTHENTICATE before HELLO', frames: ['[5,"signature",{}]'] },
  { name: 'AUTHENTICATE without a CHALLENGE', isJoined: true, frames: ['[5,"signature",{}]'] },
  { name: 'a second HELLO', isJoined: true, frames: [HELLO], abortReason: 'wamp.error.protocol_violation' },
];

function encodeHello(protocol: string): string | Buffer {
  return protocol === 'wamp.2.msgpack' ? encodeMsgpack(JSON.parse(HELLO)) : HELLO;
}

function sendFrame(ws: WebSocket, frame: Frame): void {
  if (typeof frame === 'string') ws.send(frame);
  else if (Buffer.isBuffer(frame)) ws.send(frame, { binary: true });
  else ws.send(frame.invalidText, { binary: false });
}

function decode(data: Buffer, isBinary: boolean): WampMessage {
  try {
    const m = isBinary ? decodeMsgpack(data) : JSON.parse(data.toString('utf8'));
    return Array.isArray(m) ? m : ['not a message', m];
  } catch {
    return ['undecodable', isBinary ? data.length : data.toString('utf8').slice(0, 80)];
  }
}

/** Sends the case's frames and collects what comes back until the router closes the socket. */
async function probe(url: string, c: FuzzCase, answerTimeoutMs = ANSWER_TIMEOUT_MS): Promise<Answer> {
  const protocol = c.protocol ?? 'wamp.2.json';
  const ws = await openSocket(url, { protocol });
  const messages: WampMessage[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  try {
    if (c.isJoined) {
      const welcome = new Promise<void>((resolve, reject) => {
        ws.once('message', (data: Buffer, isBinary: boolean) => {
          const m = decode(data, isBinary);
          if (m[0] === WAMP.WELCOME) resolve();
          else reject(new Error(`no WELCOME: ${JSON.stringify(m)}`));
        });
      });
      ws.send(encodeHello(protocol));
      await welcome;
    }
    let onAbort: () => void = () => {};
    const abortSeen = new Promise<'abort'>((resolve) => (onAbort = () => resolve('abort')));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = decode(data, isBinary);
      messages.push(m);
      if (m[0] === WAMP.ABORT) onAbort();
    });
    for (const f of c.frames) sendFrame(ws, f);
    // answered = the socket closed, or an ABORT arrived (a client closes on ABORT itself)
    const first = await Promise.race([closed, abortSeen, delayed(answerTimeoutMs)]);
    const closeCode = first === 'abort' ? await Promise.race([closed, delayed(200)]) : first;
    return { messages, closeCode };
  } finally {
    ws.terminate();
  }
}

function delayed(ms: number): Promise<undefined> {
  return delay(ms).then(() => undefined);
}

let router: TestRouter;
let control: AutobahnSession;
let sessionsBefore: number;

beforeAll(async () => {
  router = await startTestRouter({ max_message_bytes: MAX_MESSAGE_BYTES });
  control = await openTestSession(router);
  await control.register('fuzz.echo', (args) => args?.[0]);
  sessionsBefore = await control.call<number>('wamp.session.count');
});

describe('router fed malformed frames', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('answers %s with ABORT/close of that connection only', async (_name, c) => {
    const answer = await probe(router.url, c);
    const aborts = answer.messages.filter((m) => m[0] === WAMP.ABORT);
    // nothing but ABORT comes back (no WELCOME, no RESULT, no ERROR-and-carry-on)
    expect(answer.messages.filter((m) => m[0] !== WAMP.ABORT)).toEqual([]);
    expect(answer.closeCode !== undefined || aborts.length > 0).toBe(true);
    for (const m of aborts) {
      expect(m).toHaveLength(3);
      expect(typeof m[1]).toBe('object');
      expect(m[2]).toMatch(/^wamp\.error\.[a-z_]+$/);
    }
    if (c.abortReason) expect(aborts.map((m) => m[2])).toEqual([c.abortReason]);
    // the session joined before the fuzzing is untouched
    expect(control.isOpen).toBe(true);
    expect(await control.call('fuzz.echo', ['still here'])).toBe('still here');
  });

  it('survives a deeply nested payload without disturbing other sessions', async () => {
    const depth = 20_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // relaying it or refusing it are both fine; the router must stay up for everyone else
    await probe(router.url, { name: 'deep nesting', isJoined: true, frames: [`[16,1,{},"fuzz.topic",[${nested}]]`] }, 500);
    expect(control.isOpen).toBe(true);
    expect(await control.call('fuzz.echo', ['after nesting'])).toBe('after nesting');
  });

  it('lets a fresh client join, call and receive events afterwards, with no session left over', async () => {
    const session = await openTestSession(router);
    expect(await session.call('fuzz.echo', [[1, 2, 3]])).toEqual([1, 2, 3]);
    const received: unknown[] = [];
    await session.subscribe('fuzz.topic', (args) => received.push(args?.[0]));
    await control.publish('fuzz.topic', ['after fuzz'], {}, { acknowledge: true });
    await waitFor(() => received.length > 0, { what: 'event after the fuzzing' });
    expect(received).toEqual(['after fuzz']);
    // control + fresh: every fuzzed connection's session is gone
    await waitFor(async () => (await session.call<number>('wamp.session.count')) === sessionsBefore + 1, {
      timeoutMs: 5000,
      what: `wamp.session.count back to ${sessionsBefore + 1}`,
    });
  });
});
