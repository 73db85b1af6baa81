/** Site config: the OCS site file, the site-config command-line flags and the environment. */
export { loadSiteConfig, parseSiteConfig } from './load.js';
export {
  SiteConfigSchema,
  HubSchema,
  HostSchema,
  InstanceSchema,
  DEFAULT_CROSSBAR_TIMEOUT_S,
  FALLBACK_HOST,
  type SiteConfig,
  type SiteConfigInput,
  type HubConfig,
  type HostConfig,
  type InstanceConfig,
  type ServiceConfig,
} from './schema.js';
export { MANAGE, MANAGE_ALIASES, ManageSchema, normalizeManage, type Manage } from './manage.js';
export { RESTART_POLICY, SuperviseSchema, type RestartPolicy, type Supervise } from './supervise.js';
export { PLACEMENT, GLOBAL_EXPECT, ServiceSchema, serviceInstanceIds, type Placement, type GlobalExpect } from './services.js';
export {
  ACCESS_POLICY,
  DEFAULT_DIRECTOR_ID,
  AccessPolicySchema,
  parseAccessPolicy,
  formatAccessPolicy,
  type AccessPolicy,
  type AccessPolicyName,
} from './access-policy.js';
export { flattenArguments, pythonStr, isFlagToken, groupArguments, type ArgumentItem, type ArgumentGroup } from './arguments.js';
export { mergeArguments } from './merge-arguments.js';
export {
  SITE_FLAGS,
  LOOKUP_FLAGS,
  parseSiteArgv,
  checkSiteArgv,
  isSiteFlag,
  type SiteFlags,
  type SiteArgv,
  type SiteFlagName,
} from './site-argv.js';
export {
  LOG_LEVEL,
  DEFAULT_LOG_LEVEL,
  OcsEnvSchema,
  OCS_ENV_VARS,
  parseEnv,
  readEnv,
  childEnv,
  parseLogLevel,
  type OcsEnv,
  type LogLevel,
} from './env.js';
export { SITE_NONE, DEFAULT_SITE, siteFileFor, matchHost } from './site-lookup.js';
export {
  resolveAgentConfig,
  type AgentConfig,
  type ResolvedHub,
  type ResolvedInstance,
  type ResolveAgentOptions,
} from './resolve-agent-config.js';
export { resolveClientConfig, type ClientConfig, type ResolveClientOptions } from './resolve-client-config.js';
export { agentLaunchArgv, type AgentLaunchOptions } from './agent-launch-argv.js';
export { deepFreeze, type DeepReadonly } from './deep-freeze.js';
export { formatPath, type SiteIssue } from './issues.js';
