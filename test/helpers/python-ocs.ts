import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './project-root.js';
import { assertPythonAutobahn, SYSTEM_PYTHON, type Observation } from './python-wamp.js';

export interface OcsFlowRun {
  observations: Observation[];
  failure: string | undefined;
  exitCode: number | null;
  stderr: string;
  step(name: string): Observation;
}

/**
 * Runs one scenario of test/python/ocs_agent_flow.py (OCS's client behaviour, with Debian's
 * python3-autobahn) against an agent and collects its JSON lines.
 */
export async function runOcsFlow(scenario: string, target: { url: string; httpUrl: string; address: string; realm?: string; feed?: string; password?: string }, timeoutMs = 30_000): Promise<OcsFlowRun> {
  assertPythonAutobahn();
  const script = join(projectRoot(), 'test', 'python', 'ocs_agent_flow.py');
  const child = spawn(SYSTEM_PYTHON, [script, scenario, target.url, target.httpUrl, target.address, '--realm', target.realm ?? 'test_realm', '--feed', target.feed ?? 'false_temperatures', '--password', target.password ?? ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearTimeout(timer);
  const observations = out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Observation;
      } catch {
        return { unparsed: l };
      }
    });
  const failure = observations.find((o) => 'fail' in o)?.['fail'] as string | undefined;
  return {
    observations,
    failure: failure ?? (exitCode === 0 ? undefined : `exit ${String(exitCode)}: ${stderr.slice(-800)}`),
    exitCode,
    stderr,
    step: (name) => {
      const o = observations.find((x) => x['step'] === name);
      if (!o) throw new Error(`python flow has no step '${name}': ${JSON.stringify(observations)} ${stderr.slice(-500)}`);
      return o;
    },
  };
}
