import WS from 'ws';

/**
 * autobahn-js opens its transport with the global `WebSocket`, which Node has from 22 on.
 * On Node 20 we install a `ws`-based global. autobahn never sets `onerror`, and `ws` throws
 * an unhandled 'error' event on ECONNREFUSED or a subprotocol mismatch, so the subclass keeps
 * an error listener; autobahn still learns of the failure through `onclose`.
 */
export class QuietWebSocket extends WS {
  constructor(address: string | URL, protocols?: string | string[], options?: WS.ClientOptions) {
    super(address, protocols, { maxPayload: 64 * 1024 * 1024, ...options });
    this.on('error', () => {});
  }
}

let installed = false;

/** Installs a global WebSocket when the runtime has none (Node 20). Idempotent. */
export function ensureGlobalWebSocket(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as { WebSocket?: unknown };
  if (typeof g.WebSocket === 'undefined') g.WebSocket = QuietWebSocket;
}
