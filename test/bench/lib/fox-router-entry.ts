/**
 * fox-wamp (the devDependency, pinned) behind `ocs router`'s command line, so the router
 * benchmark starts it exactly as it starts ours (test/helpers/router-process.ts):
 * `node fox-router-entry.js router [--host H] [--port P]` → `router listening on ws://H:P/ws`.
 * Any realm is open to anonymous clients, as the embedded router's default. SIGINT/SIGTERM exit 0.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const FoxRouter = require('fox-wamp') as new () => { listenWAMP(options: { server: unknown; path: string }): void };

const argv = process.argv.slice(2);
if (argv[0] !== 'router') {
  process.stderr.write('usage: fox-router-entry router [--host H] [--port P]\n');
  process.exit(64);
}
const value = (flag: string, fallback: string): string => {
  const i = argv.indexOf(flag);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const host = value('--host', '127.0.0.1');
const port = Number(value('--port', '8001'));

const server = createServer((_req, res) => {
  res.writeHead(404);
  res.end();
});
new FoxRouter().listenWAMP({ server, path: '/ws' });
server.listen(port, host, () => {
  const address = server.address() as AddressInfo;
  process.stdout.write(`router listening on ws://${host}:${address.port}/ws\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
