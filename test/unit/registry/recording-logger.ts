import type { Logger } from '../../../lib/log.js';

export interface LogEntry {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  fields: Record<string, unknown>;
  msg: string | undefined;
}

/** A Logger that keeps every record in memory, for assertions. */
export function recordingLogger(): Logger & { entries: LogEntry[]; at(level: LogEntry['level']): LogEntry[] } {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger & { entries: LogEntry[]; at(level: LogEntry['level']): LogEntry[] } => {
    const log = (level: LogEntry['level']) => (obj: unknown, msg?: string) => {
      entries.push({ level, fields: { ...bindings, ...(typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : { msg: obj }) }, msg });
    };
    return {
      level: 'trace',
      entries,
      at: (level) => entries.filter((e) => e.level === level),
      fatal: log('fatal'),
      error: log('error'),
      warn: log('warn'),
      info: log('info'),
      debug: log('debug'),
      trace: log('trace'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}
