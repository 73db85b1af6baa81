import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

/** The orchestrator binding's small I/O: its state file, and the session in a Registry `status` reply. */

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The session of an `.ops` `status` reply (`[code, message, session]`, possibly wrapped in a call result). */
export function sessionOfReply(reply: unknown): unknown {
  const value = isObject(reply) && Array.isArray(reply['args']) ? reply['args'][0] : reply;
  return Array.isArray(value) && value.length === 3 ? value[2] : undefined;
}

/** The saved orchestrator snapshot (to be checked by `Orchestrator.restore`), or undefined when there is none or it does not parse. */
export function readOrchestratorState(file: string, log: Logger): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    log.warn({ state_file: file, err: messageOf(err) }, 'orchestrator state file unreadable; starting afresh');
    return undefined;
  }
}

/** Writes the snapshot (temporary file, then rename); a failure is logged, never thrown. */
export function writeOrchestratorState(file: string, log: Logger, snapshot: unknown): void {
  const tmp = `${file}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, `${JSON.stringify(snapshot)}\n`);
    renameSync(tmp, file);
  } catch (err) {
    log.warn({ state_file: file, err: messageOf(err) }, 'orchestrator state not saved');
  }
}
