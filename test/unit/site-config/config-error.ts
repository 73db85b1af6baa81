import { expect } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';

/** Runs `fn`, which must throw a ConfigError, and returns that error. */
export function configErrorFrom(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
