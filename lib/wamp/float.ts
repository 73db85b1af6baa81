/**
 * JavaScript has one number type, so `1.0` and `1` are the same value and JSON.stringify
 * writes both as `1`. Python (and InfluxDB behind it) tells them apart. A `WampFloat` wraps a
 * number that must travel as a float: the codecs write it as a JSON literal with a fraction
 * (`1.0`) or a msgpack float64, and the router keeps the distinction when it relays messages
 * between clients (a float received stays a float for every subscriber, whatever serializer
 * each one uses).
 */
export class WampFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

export function isWampFloat(v: unknown): v is WampFloat {
  return v instanceof WampFloat;
}

/** The plain number behind a number or a WampFloat. */
export function numberValue(v: number | WampFloat): number {
  return typeof v === 'number' ? v : v.value;
}
