import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { OpCode } from '../../../lib/ops/op-codes.js';
import { OpSession } from '../../../lib/ops/op-session.js';

const T0_MS = 1_700_000_000_000;
const T0_S = T0_MS / 1000;

function makeSession(onOpCodeChange?: (s: OpSession, previous: number) => void): OpSession {
  return new OpSession({ sessionId: 6, opName: 'delay_task', credLevel: 1, clock: systemClock, onOpCodeChange });
}

describe('OpSession', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0_MS);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('encodes the 11 keys in OCS order with nulls when new', () => {
    const s = makeSession();
    const enc = s.encoded();
    expect(Object.keys(enc)).toEqual([
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
    expect(enc).toEqual({
      session_id: 6,
      op_name: 'delay_task',
      op_code: 2,
      cred_level: 1,
      status: 'starting',
      degraded: false,
      success: null,
      start_time: T0_S,
      end_time: null,
      data: {},
      messages: [[T0_S, 'Status is now "starting".']],
    });
    expect(JSON.parse(JSON.stringify(enc))).toEqual(enc);
  });

  it('moves forward with one message per transition and sets end_time at done', () => {
    const s = makeSession();
    vi.setSystemTime(T0_MS + 1000);
    s.setStatus('running');
    s.setStatus('running');
    vi.setSystemTime(T0_MS + 2500);
    s.addMessage('Exited after 1.0 seconds');
    s.success = true;
    s.setStatus('done');
    const enc = s.encoded();
    expect(enc.messages).toEqual([
      [T0_S, 'Status is now "starting".'],
      [T0_S + 1, 'Status is now "running".'],
      [T0_S + 2.5, 'Exited after 1.0 seconds'],
      [T0_S + 2.5, 'Status is now "done".'],
    ]);
    expect(enc.end_time).toBe(T0_S + 2.5);
    expect(enc.op_code).toBe(OpCode.SUCCEEDED);
    expect(s.endTimeS).toBe(T0_S + 2.5);
    expect(s.startTimeS).toBe(T0_S);
  });

  it('throws on a backward move and on an unknown status', () => {
    const s = makeSession();
    s.setStatus('stopping');
    expect(() => s.setStatus('running')).toThrow(/only move forward.*"stopping" to "running"/);
    expect(() => s.setStatus('paused' as never)).toThrow(/unknown session status/);
    expect(s.status).toBe('stopping');
  });

  it('derives the op code from status, degraded and success', () => {
    const s = makeSession();
    expect(s.opCode).toBe(OpCode.STARTING);
    s.degraded = true;
    expect(s.opCode).toBe(OpCode.STARTING);
    s.setStatus('running');
    expect(s.opCode).toBe(OpCode.DEGRADED);
    s.degraded = false;
    expect(s.opCode).toBe(OpCode.RUNNING);
    s.degraded = true;
    s.setStatus('stopping');
    expect(s.opCode).toBe(OpCode.STOPPING);
    s.setStatus('done');
    expect(s.opCode).toBe(OpCode.FAILED);
    expect(s.encoded().degraded).toBe(true);
    s.success = true;
    expect(s.opCode).toBe(OpCode.SUCCEEDED);
  });

  it('reports every op-code change and nothing else', () => {
    const seen: Array<[number, number]> = [];
    const s = makeSession((session, previous) => seen.push([previous, session.opCode]));
    s.degraded = true;
    s.setStatus('running');
    s.degraded = true;
    s.degraded = false;
    s.addMessage('hello');
    s.success = true;
    s.setStatus('done');
    expect(seen).toEqual([
      [2, 8],
      [8, 3],
      [3, 5],
    ]);
  });

  it('maps NaN in data to null and copies it', () => {
    const s = makeSession();
    s.data = { a: NaN, nested: { list: [1, NaN, 'x'], f: Float64Array.from([1.5, NaN]) }, skip: undefined };
    const enc = s.encoded();
    expect(enc.data).toEqual({ a: null, nested: { list: [1, null, 'x'], f: [1.5, null] } });
    expect(Object.keys(enc.data)).toEqual(['a', 'nested']);
    (s.data['nested'] as { list: unknown[] }).list.push(4);
    expect((enc.data['nested'] as { list: unknown[] }).list).toHaveLength(3);
  });

  it('throws a clear error on infinite data', () => {
    const s = makeSession();
    s.data = { temps: { ch0: -Infinity } };
    expect(() => s.encoded()).toThrow('Session.data cannot store inf/-inf; please convert to NaN (data.temps.ch0 is -Infinity).');
    s.data = { temps: [Infinity] };
    expect(() => s.encoded()).toThrow(/data\.temps\[0\] is Infinity/);
  });

  it('refuses circular data with a clear error', () => {
    const s = makeSession();
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    s.data = loop;
    expect(() => s.encoded()).toThrow(/nested more than 64 levels/);
  });

  it('copies messages so a reply is a snapshot', () => {
    const s = makeSession();
    const enc = s.encoded();
    s.addMessage('later');
    expect(enc.messages).toHaveLength(1);
  });

  describe('message purge', () => {
    it('keeps messages younger than an hour until the next 720 s purge', () => {
      const s = makeSession();
      for (let i = 0; i < 10; i++) s.addMessage(`m${i}`);
      // 3600 s later the messages are old, but the purge only runs at multiples of 720 s.
      vi.setSystemTime(T0_MS + 3600_000 + 1000);
      expect(s.encoded().messages).toHaveLength(11);
      vi.setSystemTime(T0_MS + 4320_000);
      const msgs = s.encoded().messages;
      expect(msgs).toHaveLength(5);
      expect(msgs.map((m) => m[1])).toEqual(['m5', 'm6', 'm7', 'm8', 'm9']);
    });

    it('never drops messages younger than the purge cutoff', () => {
      const s = makeSession();
      for (let i = 0; i < 8; i++) s.addMessage(`old${i}`);
      vi.setSystemTime(T0_MS + 3000_000);
      for (let i = 0; i < 8; i++) s.addMessage(`new${i}`);
      vi.setSystemTime(T0_MS + 4320_000);
      const texts = s.encoded().messages.map((m) => m[1]);
      expect(texts).toEqual(['new0', 'new1', 'new2', 'new3', 'new4', 'new5', 'new6', 'new7']);
    });

    it('keeps at most 10000 messages', () => {
      const s = makeSession();
      for (let i = 0; i < 10_050; i++) s.addMessage(`m${i}`);
      const msgs = s.encoded().messages;
      expect(msgs).toHaveLength(10_000);
      expect(msgs[0]?.[1]).toBe('m50');
      expect(msgs[9999]?.[1]).toBe('m10049');
    });

    it('honours a custom policy', () => {
      const s = new OpSession({
        sessionId: 0,
        opName: 'x',
        credLevel: 1,
        clock: systemClock,
        purgePolicy: { minAgeS: 10, minMessages: 2, maxMessages: 4, purgeIntervalS: 5 },
      });
      for (let i = 0; i < 6; i++) s.addMessage(`m${i}`);
      expect(s.encoded().messages.map((m) => m[1])).toEqual(['m2', 'm3', 'm4', 'm5']);
      vi.setSystemTime(T0_MS + 15_000);
      expect(s.encoded().messages.map((m) => m[1])).toEqual(['m4', 'm5']);
    });
  });

  describe('stop signal and sleep', () => {
    it('sleeps on the clock and resolves true when the time passes', async () => {
      const s = makeSession();
      let result: boolean | undefined;
      void s.sleep(1000).then((r) => (result = r));
      await vi.advanceTimersByTimeAsync(999);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('wakes a sleeping loop early when a stop is requested, leaving no timer', async () => {
      const s = makeSession();
      let result: boolean | undefined;
      void s.sleep(60_000).then((r) => (result = r));
      await vi.advanceTimersByTimeAsync(10);
      expect(s.stopRequested).toBe(false);
      s.requestStop();
      await vi.advanceTimersByTimeAsync(0);
      expect(result).toBe(false);
      expect(s.signal.aborted).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      let again: boolean | undefined;
      void s.sleep(1000).then((r) => (again = r));
      await Promise.resolve();
      expect(again).toBeUndefined();
      await vi.advanceTimersByTimeAsync(0);
      expect(again).toBe(false);
    });

    it('yields to the event loop when a loop keeps sleeping after a stop', async () => {
      const s = makeSession();
      s.requestStop();
      let spins = 0;
      const loop = (async () => {
        while (s.status !== 'done') {
          spins++;
          await s.sleep(1000);
        }
      })();
      // One pass per timer tick, not an endless run of microtasks.
      await Promise.resolve();
      expect(spins).toBe(1);
      await vi.advanceTimersToNextTimerAsync();
      await vi.advanceTimersToNextTimerAsync();
      expect(spins).toBeGreaterThan(1);
      expect(spins).toBeLessThan(10);
      s.setStatus('done');
      await vi.advanceTimersToNextTimerAsync();
      await loop;
    });

    it('aborts the signal when the status reaches stopping or done', () => {
      const a = makeSession();
      a.setStatus('stopping');
      expect(a.signal.aborted).toBe(true);
      const b = makeSession();
      b.setStatus('done');
      expect(b.stopRequested).toBe(true);
    });

    it('runs a process loop until stopped', async () => {
      const s = makeSession();
      s.setStatus('running');
      let ticks = 0;
      const loop = (async () => {
        while (!s.signal.aborted) {
          ticks++;
          await s.sleep(1000);
        }
      })();
      await vi.advanceTimersByTimeAsync(3500);
      s.requestStop();
      await loop;
      expect(ticks).toBe(4);
    });

    it('notifies done listeners once and lets them unsubscribe', () => {
      const s = makeSession();
      const a = vi.fn();
      const b = vi.fn();
      s.onDone(a);
      const offB = s.onDone(b);
      offB();
      s.setStatus('done');
      s.setStatus('done');
      expect(a).toHaveBeenCalledTimes(1);
      expect(b).not.toHaveBeenCalled();
      const c = vi.fn();
      s.onDone(c);
      expect(c).toHaveBeenCalledTimes(1);
    });
  });
});
