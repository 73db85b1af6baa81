/** InfluxDB data path: line protocol, HTTP client, batching writer, feed recorder, publisher. */
export * from './line-protocol.js';
export * from './influx-http.js';
export * from './influx-writer.js';
export * from './influx-feed-recorder.js';
export * from './influx-publisher.js';
