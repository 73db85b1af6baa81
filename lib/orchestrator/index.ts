/** The cluster orchestrator core: public surface for the HostManager agent. */
export {
  Orchestrator,
  DEFAULT_ORCHESTRATOR_OPTIONS,
  COMMAND_TYPES,
  HELD_STATES,
  type OrchestratorOptions,
  type OrchestratorConfig,
  type ServiceDeclaration,
  type OrchestratorCommand,
  type CommandType,
  type TickResult,
  type OrchestratorReply,
  type OrchestratorRestoreResult,
  type ClusterView,
  type FailoverRecord,
} from './orchestrator.js';
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
