import type { AgentClassTable } from '../lib/agent/agent-class.js';

/** Every agent class `ocs agent` can run, by its OCS agent-class name. */
export const AGENT_CLASSES: AgentClassTable = {};
