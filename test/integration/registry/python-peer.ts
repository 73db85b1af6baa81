import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../helpers/project-root.js';
import { registerCleanup } from '../../helpers/router.js';
import { assertPythonAutobahn, PythonScenario, SYSTEM_PYTHON } from '../../helpers/python-wamp.js';

export interface HeartbeatPeerOptions {
  realm?: string;
  /** JSON op-code map, or '0' for a legacy agent (`beat`). */
  opCodes?: string;
  beats?: number;
  sessionId?: string;
  /** Rounds of junk (`junk`). */
  repeat?: number;
  timeoutS?: number;
}

/**
 * Starts test/python/ocs_heartbeat_peer.py (python3-autobahn): `beat` pretends to be a Python OCS
 * agent at `address`, `junk` floods its heartbeat topic with malformed beats, `registry-types`
 * reads the registry at `address` as OCS's Python clients do. Killed at test end.
 */
export function startHeartbeatPeer(scenario: 'beat' | 'junk' | 'registry-types', url: string, address: string, options: HeartbeatPeerOptions = {}): PythonScenario {
  assertPythonAutobahn();
  const script = join(projectRoot(), 'test', 'python', 'ocs_heartbeat_peer.py');
  const args = [script, scenario, url, address, '--realm', options.realm ?? 'test_realm', '--timeout', String(options.timeoutS ?? 40)];
  if (options.opCodes !== undefined) args.push('--op-codes', options.opCodes);
  if (options.beats !== undefined) args.push('--beats', String(options.beats));
  if (options.sessionId !== undefined) args.push('--session-id', options.sessionId);
  if (options.repeat !== undefined) args.push('--repeat', String(options.repeat));
  const child = spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const peer = new PythonScenario(child, ((options.timeoutS ?? 40) + 5) * 1000);
  registerCleanup(() => peer.kill());
  return peer;
}
