import { z } from 'zod';
import { describeValue } from './values.js';

/**
 * How a HostManager treats an instance (`manage:` in the site file). The first five are OCS's;
 * `on-demand` is ours: managed on this host, started only when asked for.
 */
export const MANAGE = {
  HOST_UP: 'host/up',
  HOST_DOWN: 'host/down',
  DOCKER_UP: 'docker/up',
  DOCKER_DOWN: 'docker/down',
  IGNORE: 'ignore',
  ON_DEMAND: 'on-demand',
} as const;
export type Manage = (typeof MANAGE)[keyof typeof MANAGE];

/** OCS's aliases (`site_config.InstanceConfig._MANAGE_MAP`). A missing value means host/up. */
export const MANAGE_ALIASES: Readonly<Record<string, Manage>> = {
  yes: MANAGE.HOST_UP,
  no: MANAGE.IGNORE,
  docker: MANAGE.DOCKER_UP,
  host: MANAGE.HOST_UP,
  up: MANAGE.HOST_UP,
  down: MANAGE.HOST_DOWN,
};

const MANAGE_VALUES: readonly string[] = Object.values(MANAGE);

/**
 * The normalized value, or undefined if the value is not valid. YAML 1.1 (which OCS's PyYAML
 * speaks) reads an unquoted `yes`/`no` as a boolean, so booleans count as those aliases.
 */
export function normalizeManage(value: unknown): Manage | undefined {
  if (value === undefined || value === null) return MANAGE.HOST_UP;
  if (value === true) return MANAGE.HOST_UP;
  if (value === false) return MANAGE.IGNORE;
  if (typeof value !== 'string') return undefined;
  if (MANAGE_VALUES.includes(value)) return value as Manage;
  return Object.hasOwn(MANAGE_ALIASES, value) ? MANAGE_ALIASES[value] : undefined;
}

const MANAGE_HELP = `expected one of ${MANAGE_VALUES.join(', ')} (or ${Object.keys(MANAGE_ALIASES).join(', ')})`;

/** `manage:` as written (string, boolean, null or missing) → the normalized value. */
export const ManageSchema = z.unknown().optional().transform((value, ctx): Manage => {
  const manage = normalizeManage(value);
  if (manage === undefined) {
    ctx.addIssue({ code: 'custom', message: `${MANAGE_HELP}, got ${describeValue(value)}` });
    return z.NEVER;
  }
  return manage;
});
