/** The cluster orchestrator core: public surface for the HostManager agent. */
export { Orchestrator } from './orchestrator.js';
export {
  DEFAULT_ORCHESTRATOR_OPTIONS,
  COMMAND_TYPES,
  type OrchestratorOptions,
  type OrchestratorConfig,
  type ServiceDeclaration,
  type OrchestratorCommand,
  type CommandType,
  type TickResult,
  type OrchestratorReply,
  type OrchestratorRestoreResult,
  type FailoverRecord,
} from './orchestrator-types.js';
export { HELD_STATES } from './local-instances.js';
export { type ClusterView } from './cluster-view.js';
export {
  PlacementMessageSchema,
  PlacementInstanceSchema,
  parsePlacementMessage,
  MONITOR,
  MONITOR_VALUES,
  BLOCKING_MONITORS,
  type Monitor,
  type PlacementMessage,
  type PlacementInstance,
  type PlacementParseResult,
} from './placement-message.js';
export { registryViewFromSession, REGISTRY_UNAVAILABLE, type RegistryView, type RegistryAgentView } from './registry-view.js';
export {
  RUNTIME_EXPECT,
  RUNTIME_EXPECT_VALUES,
  ServiceIntentSchema,
  initialIntent,
  isNewerIntent,
  requestIntent,
  displayedExpect,
  type RuntimeExpect,
  type ServiceIntent,
  type IntentOp,
} from './service-intent.js';
export { OrchestratorSnapshotSchema, ORCHESTRATOR_SNAPSHOT_VERSION, type OrchestratorSnapshot } from './orchestrator-snapshot.js';
export { fnv1a, rankHosts, type RankInput } from './ranking.js';
