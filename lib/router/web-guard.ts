/**
 * What a browser may reach on the router's HTTP port (/ws, /call and every later path).
 *
 * - `Host` must name this router: an IP literal, `localhost` (or `*.localhost`), this machine's
 *   hostname, the host the router is bound to, or a name in `http_bridge.allowed_hosts`. A page
 *   on an attacker's domain that rebinds its DNS name to 127.0.0.1 sends its own name as Host
 *   and is refused (DNS rebinding).
 * - `Origin`, when the request carries one (browsers always send it on a WebSocket upgrade and
 *   a cross-site POST), must be the router's own origin (`http://<Host>`) or one of
 *   `http_bridge.allowed_origins` (`*` wildcards allowed, e.g. `http://*.example.org`; a lone
 *   `*` allows every origin). Clients that are not browsers send no Origin and are not
 *   affected.
 *
 * Both checks are pure string work on headers, done once per HTTP request or upgrade.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export type WebRefusal = { status: 403; reason: string };

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${escaped}$`, 'i');
}

/** `host:port` or `[v6]:port` → the host part, lower case, without brackets. */
export function hostOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

export interface WebGuardOptions {
  /** Origins besides the router's own that may use /ws and /call (CORS on /call). */
  allowedOrigins: readonly string[];
  /** Host names besides the built-in ones that this router answers to. */
  allowedHosts: readonly string[];
  /** The address the router is bound to. */
  boundHost: string;
}

export class WebGuard {
  private readonly origins: RegExp[];
  private readonly isAnyOrigin: boolean;
  private readonly hostPatterns: RegExp[];
  private readonly isAnyHost: boolean;
  private readonly names: Set<string>;

  constructor(options: WebGuardOptions) {
    this.isAnyOrigin = options.allowedOrigins.includes('*');
    this.origins = options.allowedOrigins.filter((o) => o !== '*').map(globToRegExp);
    this.isAnyHost = options.allowedHosts.includes('*');
    this.hostPatterns = options.allowedHosts.filter((h) => h !== '*').map(globToRegExp);
    const machine = hostname().toLowerCase();
    this.names = new Set(['localhost', machine, machine.split('.')[0]!, options.boundHost.toLowerCase()]);
  }

  /** Whether `host` (no port) is a name this router answers to. */
  isServedHost(host: string): boolean {
    if (this.isAnyHost || isIP(host) !== 0 || this.names.has(host) || host.endsWith('.localhost')) return true;
    return this.hostPatterns.some((p) => p.test(host));
  }

  /** Whether `origin` is one listed in the config (not the router's own). */
  isListedOrigin(origin: string): boolean {
    return this.isAnyOrigin || this.origins.some((p) => p.test(origin));
  }

  /**
   * Checks one request's Host and Origin headers; undefined when it may go on.
   * `origin` undefined: no Origin header (not a browser's cross-site request).
   */
  check(hostHeader: string | undefined, origin: string | undefined): WebRefusal | undefined {
    if (hostHeader !== undefined && hostHeader !== '') {
      const host = hostOf(hostHeader);
      if (!this.isServedHost(host)) {
        return { status: 403, reason: `host '${host}' is not a name this router serves (add it to http_bridge.allowed_hosts)` };
      }
    }
    if (origin === undefined) return undefined;
    if (hostHeader !== undefined && origin.toLowerCase() === `http://${hostHeader.trim().toLowerCase()}`) return undefined;
    if (this.isListedOrigin(origin)) return undefined;
    return { status: 403, reason: `origin '${origin}' is not allowed (list it in http_bridge.allowed_origins)` };
  }
}
