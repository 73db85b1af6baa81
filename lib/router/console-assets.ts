/**
 * The web console on the router's port: `/console/` serves the built page (dist/console, made by
 * `npm run build`), `/console/config.json` tells it the realm, `address_root` and Registry of
 * this site, so it connects back to `/ws` of the router that served it. Only GET and HEAD, only
 * files inside the console's directory; hashed assets are cached for good, the page and its
 * config never. The Host and Origin rules (web-guard.ts) run before this.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REALM } from '../site-config/site-defaults.js';
import type { RouterConfig } from './config.js';

export const CONSOLE_PATH = '/console/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/**
 * The page may connect to any WebSocket (`?router=` points it at another router, which must list
 * its origin); everything else only from here.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/** dist/console next to this module, built or from source. */
export function defaultConsoleDirectory(): string | null {
  for (const rel of ['../../console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

export class ConsoleAssets {
  private readonly directory: string | null;
  private readonly configJson: string;

  constructor(config: RouterConfig) {
    const c = config.console;
    this.directory = c.directory ?? defaultConsoleDirectory();
    const realm = c.realm ?? config.realms[0]?.name ?? DEFAULT_REALM;
    this.configJson = JSON.stringify({ realm, address_root: c.address_root, registry_id: c.registry_id, router_url: null });
  }

  get isBuilt(): boolean {
    return this.directory !== null && existsSync(join(this.directory, 'index.html'));
  }

  /** Handles `/console` and everything under `/console/`. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('the console takes GET and HEAD only\n');
      return;
    }
    if (path === '/console') {
      res.writeHead(301, { location: CONSOLE_PATH });
      res.end();
      return;
    }
    const rest = path.slice(CONSOLE_PATH.length);
    if (rest === 'config.json') return this.send(req, res, 200, 'application/json', Buffer.from(this.configJson), 'no-store');
    if (this.directory === null || !this.isBuilt) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the console is not built: run npm run build\n');
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(rest === '' ? 'index.html' : rest);
    } catch {
      return this.notFound(res, path);
    }
    const file = normalize(join(this.directory, name));
    if (!file.startsWith(normalize(this.directory + sep)) || name.split('/').some((part) => part.startsWith('.'))) return this.notFound(res, path);
    let body: Buffer;
    try {
      if (!statSync(file).isFile()) return this.notFound(res, path);
      body = readFileSync(file);
    } catch {
      return this.notFound(res, path);
    }
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    const isHashed = name.startsWith('assets/');
    this.send(req, res, 200, type, body, isHashed ? 'public, max-age=31536000, immutable' : 'no-cache');
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer, cache: string): void {
    res.writeHead(status, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private notFound(res: ServerResponse, path: string): void {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${path}\n`);
  }
}
