/**
 * The heartbeat load generator of the benchmarks: forked processes (this module, with
 * `--registry-load-generator`) holding up to 10,000 raw WAMP sessions each, every one an agent
 * beating once a second with five op codes in OCS's exact heartbeat shape, spread evenly over the
 * second; agents can be killed (socket closed abruptly) one by one. Used by the registry and
 * console benchmarks. Also the child-process bookkeeping the benchmarks share.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RawWampClient } from './raw-wamp-client.js';

export const REALM = 'test_realm';
export const ROOT = 'observatory';
export const OPS = { acq: 3, count: 3, stream: 3, set_heartbeat: 1, delay_task: 1 };
export const SESSIONS_PER_GENERATOR = 10_000;
const CONNECT_BATCH = 50;
const SLOTS = 100;
const SLOT_MS = 10;
const GENERATOR_FLAG = '--registry-load-generator';
const STOP_GRACE_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Load generator (a forked child of this module)

export type ToGenerator =
  | { type: 'connect'; url: string; first: number; count: number }
  | { type: 'beat' }
  | { type: 'kill'; index: number }
  | { type: 'stop' };

export type FromGenerator =
  | { type: 'connected'; connectS: number }
  | { type: 'killed'; index: number; lastSentMs: number }
  | { type: 'stats'; sent: number; lostSockets: number; maxBeatGapMs: number }
  | { type: 'error'; message: string };

/** The PUBLISH frame after the request id: `,{},"topic",[[op_codes, feed]]]`, OCS's heartbeat (ocs-protocol §3.1). */
function heartbeatTail(index: number, sessionId: string): string {
  const address = `${ROOT}.agent-${index}`;
  const topic = `${address}.feeds.heartbeat`;
  const feed = `{"agent_address":"${address}","agg_params":{},"feed_name":"heartbeat","address":"${topic}","record":false,"session_id":"${sessionId}","agent_class":"BenchAgent"}`;
  return `,{},"${topic}",[[${JSON.stringify(OPS)},${feed}]]]`;
}

export async function generatorMain(): Promise<void> {
  const send = (msg: FromGenerator): void => {
    process.send?.(msg);
  };
  let clients: RawWampClient[] = [];
  let tails: string[] = [];
  let first = 0;
  let isAlive: Uint8Array = new Uint8Array(0);
  let lastSentMs = new Float64Array(0);
  let maxBeatGapMs = 0;
  let sent = 0;
  let lostSockets = 0;
  let ticker: NodeJS.Timeout | undefined;

  const beat = (): void => {
    const bySlot: number[][] = Array.from({ length: SLOTS }, () => []);
    clients.forEach((_, i) => bySlot[i % SLOTS]!.push(i));
    const startMs = performance.now();
    let nextSlot = 0;
    ticker = setInterval(() => {
      const due = Math.floor((performance.now() - startMs) / SLOT_MS);
      for (; nextSlot <= due; nextSlot++) {
        for (const i of bySlot[nextSlot % SLOTS]!) {
          if (isAlive[i] === 0) continue;
          const c = clients[i]!;
          c.send(`[16,${c.requestId()}${tails[i]}`);
          const nowMs = Date.now();
          const previousMs = lastSentMs[i]!;
          if (previousMs > 0 && nowMs - previousMs > maxBeatGapMs) maxBeatGapMs = nowMs - previousMs;
          lastSentMs[i] = nowMs;
          sent++;
        }
      }
    }, SLOT_MS);
  };

  process.on('message', (raw) => {
    const msg = raw as ToGenerator;
    void (async () => {
      try {
        switch (msg.type) {
          case 'connect': {
            first = msg.first;
            const t0 = performance.now();
            const sessionId = String(Date.now() / 1000);
            for (let i = 0; i < msg.count; i += CONNECT_BATCH) {
              const n = Math.min(CONNECT_BATCH, msg.count - i);
              clients.push(...(await Promise.all(Array.from({ length: n }, () => RawWampClient.connect(msg.url, REALM)))));
            }
            tails = clients.map((_, i) => heartbeatTail(first + i, sessionId));
            isAlive = new Uint8Array(clients.length).fill(1);
            lastSentMs = new Float64Array(clients.length);
            clients.forEach((c, i) => {
              void c.closed.then(() => {
                if (isAlive[i] === 1) lostSockets++;
              });
            });
            send({ type: 'connected', connectS: (performance.now() - t0) / 1000 });
            break;
          }
          case 'beat':
            beat();
            break;
          case 'kill': {
            const i = msg.index - first;
            isAlive[i] = 0;
            clients[i]!.ws.terminate();
            send({ type: 'killed', index: msg.index, lastSentMs: lastSentMs[i] || NaN });
            break;
          }
          case 'stop':
            clearInterval(ticker);
            isAlive.fill(0);
            send({ type: 'stats', sent, lostSockets, maxBeatGapMs });
            for (const c of clients) c.ws.terminate();
            clients = [];
            setTimeout(() => process.exit(0), 100);
            break;
        }
      } catch (err) {
        send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  process.once('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

export function track(child: ChildProcess): Promise<void> {
  children.add(child);
  return new Promise((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
}

export async function stopChild(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

export class Generator {
  private readonly exited: Promise<void>;
  private readonly waiters = new Map<string, (msg: FromGenerator) => void>();

  constructor(
    private readonly child: ChildProcess,
    readonly first: number,
    readonly count: number,
  ) {
    this.exited = track(child);
    child.on('message', (raw) => {
      const msg = raw as FromGenerator;
      const key = msg.type === 'killed' ? `killed:${msg.index}` : msg.type;
      const waiter = this.waiters.get(key) ?? (msg.type === 'error' ? [...this.waiters.values()][0] : undefined);
      this.waiters.delete(key);
      waiter?.(msg);
    });
  }

  static start(first: number, count: number): Generator {
    const child = fork(fileURLToPath(import.meta.url), [GENERATOR_FLAG], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new Generator(child, first, count);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private request<T extends FromGenerator>(msg: ToGenerator, key: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator: no '${key}' within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(key, (reply) => {
        clearTimeout(timer);
        if (reply.type === 'error') reject(new Error(`generator: ${reply.message}`));
        else resolve(reply as T);
      });
      this.child.send(msg);
    });
  }

  connect(url: string): Promise<{ connectS: number }> {
    return this.request<{ type: 'connected'; connectS: number }>({ type: 'connect', url, first: this.first, count: this.count }, 'connected', 180_000);
  }

  beat(): void {
    this.child.send({ type: 'beat' } satisfies ToGenerator);
  }

  kill(index: number): Promise<{ lastSentMs: number }> {
    return this.request<{ type: 'killed'; index: number; lastSentMs: number }>({ type: 'kill', index }, `killed:${index}`, 5000);
  }

  async stop(): Promise<{ sent: number; lostSockets: number; maxBeatGapMs: number }> {
    const stats = await this.request<{ type: 'stats'; sent: number; lostSockets: number; maxBeatGapMs: number }>({ type: 'stop' }, 'stats', 10_000).catch(() => ({
      sent: NaN,
      lostSockets: NaN,
      maxBeatGapMs: NaN,
    }));
    await stopChild(this.child, this.exited);
    return stats;
  }

  async forceStop(): Promise<void> {
    await stopChild(this.child, this.exited, 'SIGKILL');
  }
}

if (process.argv.includes(GENERATOR_FLAG) && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void generatorMain();
}
