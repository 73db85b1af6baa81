import { opCodeName } from '../ops/op-codes.js';
import type { OpReply } from '../client/op-reply.js';

export interface ScanEntry {
  address: string;
  instanceId: string;
  agentClass: string | null;
  opCodes: Record<string, number>;
  isExpired: boolean;
}

/** The human-readable `ocs client scan` listing. */
export function formatScan(entries: readonly ScanEntry[], isDetailed: boolean): string {
  if (entries.length === 0) return 'no agents heard';
  const lines: string[] = [];
  const width = Math.max(...entries.map((e) => e.instanceId.length), 11);
  lines.push(`${'instance-id'.padEnd(width)}  ${'agent-class'.padEnd(18)}  state`);
  for (const e of entries) {
    lines.push(`${e.instanceId.padEnd(width)}  ${(e.agentClass ?? '?').padEnd(18)}  ${e.isExpired ? 'expired' : 'alive'}`);
    if (isDetailed) {
      for (const [op, code] of Object.entries(e.opCodes)) lines.push(`${''.padEnd(width)}    ${op}: ${opCodeName(code)} (${code})`);
    }
  }
  return lines.join('\n');
}

function fmtTime(s: unknown): string {
  return typeof s === 'number' ? new Date(s * 1000).toISOString() : '-';
}

/** The human-readable form of an `.ops` reply. */
export function formatReply(opName: string, reply: OpReply): string {
  const lines = [`${opName}: ${reply.status === 0 ? 'OK' : reply.status === 1 ? 'TIMEOUT' : 'ERROR'} - ${reply.message}`];
  const s = reply.session as Record<string, unknown>;
  if ('session_id' in s) {
    lines.push(`  session ${String(s['session_id'])}  status ${String(s['status'])}  op_code ${opCodeName(s['op_code'] as number)}  success ${String(s['success'])}`);
    lines.push(`  started ${fmtTime(s['start_time'])}  ended ${fmtTime(s['end_time'])}`);
    const data = s['data'];
    if (data && typeof data === 'object' && Object.keys(data).length > 0) lines.push(`  data ${JSON.stringify(data)}`);
    const messages = (s['messages'] as [number, string][] | undefined) ?? [];
    for (const [t, text] of messages.slice(-5)) lines.push(`  ${fmtTime(t)}  ${text}`);
  }
  return lines.join('\n');
}
