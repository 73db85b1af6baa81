import { describe, expect, it } from 'vitest';
import { encodeSessionData, isFloatKey, markFloats } from '../../../lib/ops/session-data.js';
import { WampFloat } from '../../../lib/wamp/float.js';

describe('markFloats', () => {
  it('marks numbers under time and duration keys as floats at any depth, and leaves counts alone', () => {
    const data = markFloats({ since: 1700000000, restarts: 2, services: { a: { uptime_s: 60, pid: 123, last_exit: { at: 1700000001, code: 0 } } }, history: [{ at: 5, verb: 'start' }] });
    expect(data.since).toBeInstanceOf(WampFloat);
    expect(data.restarts).toBe(2);
    expect(data.services.a.uptime_s).toEqual(new WampFloat(60));
    expect(data.services.a.pid).toBe(123);
    expect(data.services.a.last_exit.at).toEqual(new WampFloat(1700000001));
    expect(data.services.a.last_exit.code).toBe(0);
    expect(data.history[0]!.at).toEqual(new WampFloat(5));
  });

  it('keeps the marks through encodeSessionData, so the wire says 60.0', () => {
    const encoded = encodeSessionData(markFloats({ uptime_s: 60, n: 60, next_at: null }));
    expect(encoded['uptime_s']).toBeInstanceOf(WampFloat);
    expect(encoded['n']).toBe(60);
    expect(encoded['next_at']).toBeNull();
  });

  it('knows the float keys by name', () => {
    expect(['since', 'at', 'time', 'timestamp', 'last_update', 'uptime_s', 'heartbeat_at', 'maintenance_until', 'failing_since', 'last_write_time'].every(isFloatKey)).toBe(true);
    expect(['restarts', 'pid', 'code', 'attempt', 'op_code', 'status', 'written_points'].some(isFloatKey)).toBe(false);
  });
});
