import { createRequire } from 'node:module';
import type { DestinationStream, LevelWithSilent } from 'pino';

// pino is CommonJS: loaded with require, not through the ESM translator (less resident memory).
const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');

/** The narrow logger type every module receives. */
export interface Logger {
  level: string;
  fatal(obj: unknown, msg?: string, ...args: unknown[]): void;
  error(obj: unknown, msg?: string, ...args: unknown[]): void;
  warn(obj: unknown, msg?: string, ...args: unknown[]): void;
  info(obj: unknown, msg?: string, ...args: unknown[]): void;
  debug(obj: unknown, msg?: string, ...args: unknown[]): void;
  trace(obj: unknown, msg?: string, ...args: unknown[]): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface RootLoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  destination?: DestinationStream;
}

/** Builds the process's root logger: JSON lines, level from the caller (env is read in site-config/env.ts). */
export function createRootLogger(options: RootLoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: options.name ? { name: options.name } : {},
    redact: { paths: ['*.ticket', '*.password', '*.secret', 'password', 'ticket', 'secret'], censor: '[redacted]' },
  };
  return (options.destination ? pino(opts, options.destination) : pino(opts)) as unknown as Logger;
}

/** Synchronous writes to stderr (fd 2): nothing is lost when the process exits on a signal. */
export function stderrDestination(): DestinationStream {
  return pino.destination({ fd: 2, sync: true });
}

/** A logger that drops everything (tests and library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}
