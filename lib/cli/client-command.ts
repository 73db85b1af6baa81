import type { CliContext } from './main.js';
import { CREDENTIAL_FLAGS, UsageError, connectClient, credentialOptions, numberOption, output, parse, withSession, type Output } from './client-common.js';
import { grant, parseValue, publish } from './client-messaging.js';
import { api } from './client-api.js';
import { ConfigError, EXIT_CONFIG, OcsError } from '../errors.js';
import { readEnv } from '../site-config/env.js';
import { resolveClientConfig, type ClientConfig } from '../site-config/resolve-client-config.js';
import type { OpReply } from '../client/op-reply.js';
import { WampConnection } from '../wamp/connection.js';
import { formatReply, formatScan, type ScanEntry } from './client-format.js';
import { AgentRecordSchema, type AgentRecord } from '../registry/agent-record.js';
import { RegistryWatcher } from '../registry/registry-watcher.js';
import type { AgentStatusEvent } from '../registry/agent-status-event.js';

const USAGE = `usage: ocs client <subcommand> [site options] [options]

subcommands:
  scan [--details] [--use-registry [ID] [--watch]] [--duration S]
                                                           agents heard by heartbeat, with op codes; with
                                                           --use-registry the registry's table (default ID
                                                           registry), --watch then prints each change
  listen <topic-or-pattern> [--duration S]                 print events (wildcard match: observatory..feeds.heartbeat)
  call <instance-id> <op> <start|stop|abort|wait|status> [key=value ...] [--timeout S] [--password PW | --privs 2|3]
                                                           run an action, print the reply; agents with access
                                                           control get --password, else one from the password
                                                           file ($OCS_PASSWORDS_FILE or ~/.ocs-passwords.yaml)
  grant <acquire|renew|release> <grant-name> [--director ID] [--password PW] [--grantee NAME] [--duration S]
                                                           an exclusive grant from the Access Director (default
                                                           ID access-director); acquire prints its password
  status <instance-id> [op]                                status of one op, or of every op
  api <instance-id> [op]                                   what get_api says of the agent's ops: kind,
                                                           parameters (from the docstring), min_privs, docs
  publish <topic> [value ...] [--kwargs JSON] [--http[=URL]]
                                                           publish one event (acknowledged) over WAMP, or with
                                                           --http through the router's HTTP publisher (default
                                                           URL: the site's wamp_http with /publish for /call)

options: --json (one JSON document per line, for scripts)
site options: --site-file FILE | --site NAME, --site-hub URL, --site-http URL, --site-realm REALM, --address-root ROOT
values in key=value are JSON when they parse as JSON (delay=1.5, succeed=false, names='["a"]'), else strings`;

const SUBCOMMANDS = ['scan', 'listen', 'call', 'api', 'grant', 'status', 'publish'] as const;

/** The usage of one subcommand: its lines of USAGE, then the options every subcommand takes. */
export function subcommandUsage(sub: string): string {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  ${sub} `) || l === `  ${sub}`);
  if (start < 0) return USAGE;
  let end = start + 1;
  while (end < lines.length && /^ {20,}\S/.test(lines[end]!)) end++;
  const tail = lines.slice(lines.findIndex((l) => l.startsWith('options:')));
  return [`usage: ocs client ${lines[start]!.trim().split(/\s{2,}/)[0]} [site options] [options]`, ...lines.slice(start, end), '', ...tail].join('\n');
}

export async function runClientCommand(argv: string[], _ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    process.stderr.write(`ocs client: unknown subcommand '${sub}'\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${subcommandUsage(sub)}\n`);
    return 0;
  }
  try {
    const config = resolveClientConfig({ argv: rest, env: readEnv() });
    switch (sub) {
      case 'scan':
        return await scan(config);
      case 'listen':
        return await listen(config);
      case 'call':
        return await call(config);
      case 'status':
        return await status(config);
      case 'publish':
        return await publish(config);
      case 'grant':
        return await grant(config);
      case 'api':
        return await api(config);
      default:
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ocs client ${sub}: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    if (err instanceof OcsError) {
      process.stderr.write(`ocs client ${sub}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`ocs client ${sub}: ${err.message}\n${subcommandUsage(sub)}\n`);
      return 2;
    }
    throw err;
  }
}

/** Resolves after `durationS` (0: never), on SIGINT/SIGTERM, or when the router session ends. */
function untilStopped(conn: WampConnection, durationS: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationS > 0) setTimeout(stop, durationS * 1000);
    conn.once('leave', stop);
  });
}

function instanceIdOf(address: string, root: string): string {
  return address.startsWith(`${root}.`) ? address.slice(root.length + 1) : address;
}

/** `--use-registry` may stand alone (OCS: default id `registry`): give it an empty value then. */
function withOptionalValue(rest: readonly string[], flag: string): string[] {
  return rest.map((token, i) => {
    const next = rest[i + 1];
    return token === flag && (next === undefined || next.startsWith('-')) ? `${flag}=` : token;
  });
}

function scanEntry(record: AgentRecord, root: string): ScanEntry {
  const address = record.agent_address;
  return {
    address,
    instanceId: instanceIdOf(address, root),
    agentClass: record.agent_class,
    opCodes: record.op_codes,
    isExpired: record.expired,
  };
}

/** The records of the registry's `main` session.data (`ocs-client-cli scan --use-registry`); malformed ones are skipped. */
async function registryEntries(config: ClientConfig, registryId: string): Promise<ScanEntry[]> {
  const client = await connectClient(config, registryId);
  try {
    const reply = await client.process('main').status();
    const data = 'data' in reply.session ? reply.session.data : {};
    const entries: ScanEntry[] = [];
    for (const [address, raw] of Object.entries(data ?? {})) {
      const parsed = AgentRecordSchema.safeParse(raw);
      if (parsed.success && parsed.data.agent_address === address) entries.push(scanEntry(parsed.data, config.hub.addressRoot));
    }
    return entries;
  } finally {
    await client.close();
  }
}

/** Prints the registry's table, then every change event until the duration ends, a signal, or the router leaves. */
async function watchRegistry(config: ClientConfig, registryId: string, out: Output, isDetailed: boolean, durationS: number): Promise<number> {
  const root = config.hub.addressRoot;
  return withSession(config, async (conn) => {
    const watcher = RegistryWatcher.fromSession(conn.session!, { registryAddress: `${root}.${registryId}` });
    const changes: AgentStatusEvent[] = [];
    let isSynced = false;
    watcher.on('change', (event) => (isSynced ? printChange(event, out, root) : changes.push(event)));
    await watcher.start();
    printEntries(watcher.list().map((r) => scanEntry(r, root)), out, isDetailed);
    isSynced = true;
    for (const event of changes) printChange(event, out, root);
    await untilStopped(conn, durationS);
    await watcher.stop();
    return 0;
  });
}

function printChange(event: AgentStatusEvent, out: Output, root: string): void {
  const id = instanceIdOf(event.agent_address, root);
  const detail =
    event.event === 'agent.op_changed'
      ? ` ${event.op_name}: ${String(event.op_code_before)} -> ${String(event.op_code_after)}`
      : event.event === 'agent.forgotten'
        ? ` (${event.reason})`
        : event.event === 'agent.restarted'
          ? ` session ${event.session_id_before} -> ${String(event.session_id)}`
          : '';
  out.print(`${new Date(event.time * 1000).toISOString()}  ${id}  ${event.event}${detail}`, event);
}

function printEntries(entries: ScanEntry[], out: Output, isDetailed: boolean): void {
  entries.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  if (out.isJson) {
    for (const e of entries) out.print('', { instance_id: e.instanceId, agent_address: e.address, agent_class: e.agentClass, expired: e.isExpired, op_codes: e.opCodes });
  } else {
    process.stdout.write(formatScan(entries, isDetailed) + '\n');
  }
}

async function scan(config: ClientConfig): Promise<number> {
  const { values } = parse(withOptionalValue(config.rest, '--use-registry'), {
    details: { type: 'boolean' },
    'use-registry': { type: 'string' },
    watch: { type: 'boolean' },
    duration: { type: 'string' },
  });
  const out = output(values['json'] === true);
  const isDetailed = values['details'] === true;
  const root = config.hub.addressRoot;
  let entries: ScanEntry[];
  const registryOption = values['use-registry'];
  if (values['watch'] === true && typeof registryOption !== 'string') throw new UsageError('--watch needs --use-registry');
  if (typeof registryOption === 'string') {
    const registryId = registryOption === '' ? 'registry' : registryOption;
    if (values['watch'] === true) return watchRegistry(config, registryId, out, isDetailed, numberOption(values['duration'], 'duration', 0));
    entries = await registryEntries(config, registryId);
  } else {
    const durationMs = numberOption(values['duration'], 'duration', 2) * 1000;
    const seen = new Map<string, ScanEntry>();
    await withSession(config, async (conn) => {
      const session = conn.session!;
      await session.subscribe(
        `${root}..feeds.heartbeat`,
        (args) => {
          const payload = args?.[0];
          if (!Array.isArray(payload)) return;
          const [codes, feed] = payload as [unknown, { agent_address?: unknown; agent_class?: unknown } | undefined];
          const address = typeof feed?.agent_address === 'string' ? feed.agent_address : undefined;
          if (!address) return;
          const opCodes = codes !== null && typeof codes === 'object' && !Array.isArray(codes) ? (codes as Record<string, number>) : { old_agent_no_opcodes: 7 };
          seen.set(address, {
            address,
            instanceId: instanceIdOf(address, root),
            agentClass: typeof feed?.agent_class === 'string' ? feed.agent_class : null,
            opCodes,
            isExpired: false,
          });
        },
        { match: 'wildcard' },
      );
      await new Promise((r) => setTimeout(r, durationMs));
    });
    entries = [...seen.values()];
  }
  printEntries(entries, out, isDetailed);
  return 0;
}

async function listen(config: ClientConfig): Promise<number> {
  const { values, positionals } = parse(config.rest, { duration: { type: 'string' } });
  const topic = positionals[0];
  if (!topic) throw new UsageError('listen needs a topic or pattern, e.g. observatory..feeds.heartbeat');
  const out = output(values['json'] === true);
  const durationS = numberOption(values['duration'], 'duration', 0);
  const match = topic.split('.').some((c) => c === '') ? 'wildcard' : 'exact';
  await withSession(config, async (conn) => {
    await conn.session!.subscribe(
      topic,
      (args, kwargs, details) => {
        const t = details.topic ?? topic;
        const message = args?.length === 1 ? args[0] : (args ?? kwargs);
        out.print(`[${t}] ${JSON.stringify(message)}`, { topic: t, message });
      },
      { match },
    );
    await untilStopped(conn, durationS);
  });
  return 0;
}

function parseParams(tokens: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new UsageError(`parameter '${token}' is not key=value`);
    const key = token.slice(0, eq);
    params[key] = parseValue(token.slice(eq + 1));
  }
  return params;
}

async function call(config: ClientConfig): Promise<number> {
  const { values, positionals } = parse(config.rest, { timeout: { type: 'string' }, ...CREDENTIAL_FLAGS });
  const [instanceId, opName, action, ...paramTokens] = positionals;
  if (!instanceId || !opName || !action) throw new UsageError('call needs <instance-id> <op> <start|stop|abort|wait|status>');
  const out = output(values['json'] === true);
  const params = parseParams(paramTokens);
  const timeoutS = values['timeout'] === undefined ? null : numberOption(values['timeout'], 'timeout', 0);
  const client = await connectClient(config, instanceId, credentialOptions(values));
  try {
    const handle = client.op(opName);
    let reply: OpReply;
    switch (action) {
      case 'start':
        reply = await handle.start(params);
        break;
      case 'wait':
        reply = await handle.wait({ timeoutS });
        break;
      case 'status':
        reply = await handle.status();
        break;
      case 'stop':
        if (handle.opType !== 'process') throw new UsageError(`'${opName}' is a task: use abort`);
        reply = await handle.stop();
        break;
      case 'abort':
        if (handle.opType !== 'task') throw new UsageError(`'${opName}' is a process: use stop`);
        reply = await handle.abort();
        break;
      default:
        throw new UsageError(`unknown action '${action}' (start, stop, abort, wait, status)`);
    }
    out.print(formatReply(opName, reply), { status: reply.status, message: reply.message, session: reply.session });
    if (reply.status !== 0 && action === 'start' && /param/i.test(reply.message)) {
      process.stderr.write(`ocs client call: 'ocs client api ${instanceId} ${opName}' lists the parameters of ${opName}\n`);
    }
    return reply.status === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}

async function status(config: ClientConfig): Promise<number> {
  const { values, positionals } = parse(config.rest, {});
  const [instanceId, opName] = positionals;
  if (!instanceId) throw new UsageError('status needs <instance-id> [op]');
  const out = output(values['json'] === true);
  const client = await connectClient(config, instanceId);
  try {
    const names = opName ? [opName] : client.opNames;
    for (const name of names) {
      const reply = await client.op(name).status();
      out.print(formatReply(name, reply), { op_name: name, status: reply.status, message: reply.message, session: reply.session });
    }
    return 0;
  } finally {
    await client.close();
  }
}

