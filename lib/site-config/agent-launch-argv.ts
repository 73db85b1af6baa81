import { formatAccessPolicy, type AccessPolicy } from './access-policy.js';
import { isFlagToken } from './arguments.js';
import { SITE_FLAGS } from './site-argv.js';

/** What a supervisor pins down when it launches one agent instance. */
export interface AgentLaunchOptions {
  siteFile: string;
  host: string;
  instanceId: string;
  workingDir?: string;
  siteHub?: string;
  siteHttp?: string;
  siteRealm?: string;
  addressRoot?: string;
  crossbarTimeoutS?: number;
  logDir?: string;
  accessPolicy?: AccessPolicy;
}

/**
 * The site flags for a child agent process, e.g. `ocs agent` + `--site-file F --site-host H
 * --instance-id ID`; optional overrides follow. resolveAgentConfig on the result finds the
 * same file, host and instance. A value that would read as a flag is passed as `--flag=value`.
 */
export function agentLaunchArgv(options: AgentLaunchOptions): string[] {
  const out: string[] = [];
  const add = (flag: string, value: string | undefined) => {
    if (value === undefined) return;
    if (isFlagToken(value)) out.push(`${flag}=${value}`);
    else out.push(flag, value);
  };
  add(SITE_FLAGS.siteFile, options.siteFile);
  add(SITE_FLAGS.siteHost, options.host);
  add(SITE_FLAGS.instanceId, options.instanceId);
  add(SITE_FLAGS.workingDir, options.workingDir);
  add(SITE_FLAGS.siteHub, options.siteHub);
  add(SITE_FLAGS.siteHttp, options.siteHttp);
  add(SITE_FLAGS.siteRealm, options.siteRealm);
  add(SITE_FLAGS.addressRoot, options.addressRoot);
  add(SITE_FLAGS.crossbarTimeoutS, options.crossbarTimeoutS === undefined ? undefined : String(options.crossbarTimeoutS));
  add(SITE_FLAGS.logDir, options.logDir);
  add(SITE_FLAGS.accessPolicy, options.accessPolicy === undefined ? undefined : formatAccessPolicy(options.accessPolicy));
  return out;
}
