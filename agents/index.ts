import type { AgentClassTable } from '../lib/agent/agent-class.js';
import type { AgentClassName } from './class-names.js';

/** Every agent class `ocs agent` can run, by its OCS agent-class name. */
export const AGENT_CLASSES: AgentClassTable & Record<AgentClassName, AgentClassTable[string]> = {
  AccessDirector: {
    summary: 'hands out access rules (controls feed, agent_poll) and exclusive grants (request_exclusive) from --config-file',
    load: async () => (await import('./access-director/main.js')).main,
  },
  FakeDataAgent: {
    summary: 'demo agent: fake temperatures (acq), a counter (count), set_heartbeat, delay_task',
    load: async () => (await import('./fake-data/main.js')).main,
  },
  HostManager: {
    summary: "supervises this host's agents from the site file (manager, update, child_states) plus start/stop/suspend/kill/schedule/... tasks",
    load: async () => (await import('./host-manager/main.js')).main,
  },
  RegistryAgent: {
    summary: 'tracks every agent by its heartbeats: expiry, restarts, op codes (agent_operations, agent_status)',
    load: async () => (await import('./registry/main.js')).main,
  },
  InfluxDBAgent: {
    summary: 'writes every recorded feed to InfluxDB (record): batching, retry, bounded buffer, OCS layout',
    load: async () => (await import('./influxdb-publisher/main.js')).main,
  },
  InfluxDBAgentv2: {
    summary: 'InfluxDBAgent for the InfluxDB 2.x API, target from INFLUXDB_V2_URL/_TOKEN/_ORG/_BUCKET (record)',
    load: async () => (await import('./influxdb-publisher/main-v2.js')).main,
  },
};
