/** The OCS agent-class names this project runs (`ocs agent <class>`); `agents/index.ts` maps each to its code. */
export const AGENT_CLASS_NAMES = ['AccessDirector', 'FakeDataAgent', 'HostManager', 'RegistryAgent', 'InfluxDBAgent', 'InfluxDBAgentv2'] as const;
export type AgentClassName = (typeof AGENT_CLASS_NAMES)[number];
