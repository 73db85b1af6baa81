/**
 * The node-info page at `GET /info`, as crossbar's `nodeinfo` path: HTTP 200 with a small HTML
 * page, or JSON for `Accept: application/json`, naming the router, its version, its realms, its
 * uptime and how many sessions it has. No secrets: no roles, principals or peers.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Router } from './router.js';

export const ROUTER_PRODUCT = 'ocs-ts embedded router';

/** The version in the nearest package.json above this file (source or build tree). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ocs-ts' && typeof pkg.version === 'string') return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export interface NodeInfo {
  router: string;
  version: string;
  node: string;
  started: string;
  uptime_s: number;
  realms: { name: string; sessions: number }[];
  sessions: number;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export class HttpInfo {
  private readonly version = packageVersion();
  private readonly startedAtMs = Date.now();

  constructor(private readonly router: Router) {}

  info(): NodeInfo {
    const realms = [...this.router.realms.values()].map((r) => {
      let sessions = 0;
      for (const s of r.sessions.values()) if (!s.isInternal) sessions++;
      return { name: r.name, sessions };
    });
    return {
      router: ROUTER_PRODUCT,
      version: this.version,
      node: process.version,
      started: new Date(this.startedAtMs).toISOString(),
      uptime_s: Math.round((Date.now() - this.startedAtMs) / 1000),
      realms,
      sessions: realms.reduce((n, r) => n + r.sessions, 0),
    };
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('GET /info\n');
      return;
    }
    const info = this.info();
    const wantsJson = (req.headers.accept ?? '').split(',').some((t) => t.split(';')[0]!.trim().toLowerCase() === 'application/json');
    const text = wantsJson ? JSON.stringify(info) : this.html(info);
    res.writeHead(200, {
      'content-type': wantsJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private html(info: NodeInfo): string {
    const rows = info.realms.map((r) => `<tr><td>${escapeHtml(r.name)}</td><td>${r.sessions}</td></tr>`).join('');
    return `<!doctype html>
<html><head><meta charset="utf-8"><title>${ROUTER_PRODUCT}</title></head>
<body>
<h1>${ROUTER_PRODUCT} ${escapeHtml(info.version)}</h1>
<p>Node ${escapeHtml(info.node)}; up since ${info.started} (${info.uptime_s} s); ${info.sessions} sessions.</p>
<table><thead><tr><th>realm</th><th>sessions</th></tr></thead><tbody>${rows}</tbody></table>
<p>WAMP WebSocket at <code>/ws</code>, HTTP caller at <code>/call</code>, HTTP publisher at <code>/publish</code>.</p>
</body></html>
`;
  }
}
