/**
 * Each HostManager (agent class HostManager): its children with the supervisor verbs as buttons
 * and a live tail of a child's logs; the orchestrator's cluster services where it runs.
 */
import { useEffect, useState } from 'preact/hooks';
import { CHILD_VERBS, childRows, memoryText, orchestratorView } from '../../host-children.js';
import { ageText } from '../../registry-rows.js';
import type { ConsoleSession } from '../console-session.js';

const LOG_REFRESH_MS = 2000;

function LogTail({ console: c, host, child }: { console: ConsoleSession; host: string; child: string }) {
  useEffect(() => {
    void c.fetchLogs(host, child);
    const timer = setInterval(() => void c.fetchLogs(host, child), LOG_REFRESH_MS);
    return () => clearInterval(timer);
  }, [host, child]);
  const log = c.logs.get(`${host}/${child}`);
  return (
    <div class="logs" data-testid="child-logs">
      <h4>logs of {child}</h4>
      {log?.error != null && <div class="problems">{log.error}</div>}
      <pre>{log === undefined ? 'reading…' : [...log.stdout, ...log.stderr.map((l) => `[stderr] ${l}`)].join('\n')}</pre>
    </div>
  );
}

function HostPanel({ console: c, address }: { console: ConsoleSession; address: string }) {
  const [logChild, setLogChild] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const agent = c.directory.get(address);
  const data = c.hostData.get(address);
  const rows = data?.manager == null ? null : childRows(data.manager);
  const orch = data?.orchestrator == null ? null : orchestratorView(data.orchestrator);
  const verb = async (name: string, child: string) => {
    setOutcome(null);
    const result = await c.childVerb(address, name, child);
    setOutcome({ ok: result.ok, text: `${name} ${child}: ${result.message}` });
  };
  const expect = async (service: string, value: string) => {
    const result = await c.action(address, 'start', 'set_expect', { service, global_expect: value });
    setOutcome({ ok: result.ok, text: `set_expect ${service} ${value}: ${result.message}` });
  };
  return (
    <section class="host" data-testid={`host-${agent?.instanceId ?? address}`}>
      <h3>
        {agent?.instanceId ?? address} {agent?.isExpired === true && <span class="badge dead">expired</span>}
      </h3>
      {data?.error != null && <div class="problems">{data.error}</div>}
      {rows !== null && !rows.ok && <div class="problems">{rows.error}</div>}
      {outcome !== null && (
        <div class={outcome.ok ? 'reply ok' : 'reply error'} data-testid="verb-reply">
          {outcome.text}
        </div>
      )}
      {rows?.ok === true && (
        <table class="children">
          <thead>
            <tr>
              <th>instance</th>
              <th>class</th>
              <th>state</th>
              <th>target</th>
              <th>pid</th>
              <th>restarts</th>
              <th>uptime</th>
              <th>memory</th>
              <th>CPU</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.rows.map((r) => (
              <tr key={r.instanceId} data-testid={`child-${r.instanceId}`} data-state={r.state}>
                <td>{r.instanceId}</td>
                <td>{r.agentClass}</td>
                <td title={[r.reason, r.note].filter(Boolean).join('; ')}>{r.note === null ? r.state : `${r.state} (${r.note})`}</td>
                <td>{r.target}</td>
                <td>{r.pid ?? '–'}</td>
                <td>{r.restarts ?? '–'}</td>
                <td>{r.uptimeS == null ? '–' : ageText(r.uptimeS)}</td>
                <td title={r.note ?? ''} data-testid="child-memory">{memoryText(r.rssBytes)}</td>
                <td data-testid="child-cpu">{r.cpuPercent == null ? '–' : `${r.cpuPercent.toFixed(1)} %`}</td>
                <td class="verbs">
                  {CHILD_VERBS.map((v) => (
                    <button key={v} onClick={() => void verb(v, r.instanceId)} data-testid={`verb-${v}`}>
                      {v}
                    </button>
                  ))}
                  <button onClick={() => setLogChild(logChild === r.instanceId ? null : r.instanceId)} data-testid="verb-logs">
                    logs
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows?.ok === true && rows.problems.map((p, i) => <div key={i} class="problems">{p}</div>)}
      {logChild !== null && <LogTail console={c} host={address} child={logChild} />}
      {orch?.ok === false && <div class="problems">{orch.error}</div>}
      {orch?.ok === true && (
        <div class="orchestrator" data-testid="orchestrator">
          <h4>
            cluster services (node {orch.view.node}
            {orch.view.isNodeFrozen ? ', frozen' : ''})
          </h4>
          <table>
            <thead>
              <tr>
                <th>service</th>
                <th>global expect</th>
                <th>placement</th>
                <th>nodes</th>
                <th>holders</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {orch.view.services.map((s) => (
                <tr key={s.service} data-testid={`service-${s.service}`}>
                  <td>{s.service}</td>
                  <td>
                    {s.globalExpect}
                    {s.isFrozen ? ' (frozen)' : ''}
                  </td>
                  <td>{s.placement}</td>
                  <td>{s.nodes.join(', ')}</td>
                  <td>{s.holders.join(', ')}</td>
                  <td>
                    {['started', 'stopped', 'frozen', 'thawed', 'placed'].map((v) => (
                      <button key={v} onClick={() => void expect(s.service, v)}>
                        {v}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function HostsView({ console: c }: { console: ConsoleSession }) {
  const hosts = c.directory.list().filter((a) => a.agentClass === 'HostManager');
  useEffect(() => {
    c.watchedHosts = new Set(hosts.map((h) => h.address));
  }, [hosts.map((h) => h.address).join(',')]);
  useEffect(() => () => void (c.watchedHosts = new Set()), []);
  return (
    <main class="panel" data-testid="hosts-view">
      <h2>HostManagers</h2>
      {hosts.length === 0 && <p class="muted">No HostManager is beating.</p>}
      {hosts.map((h) => (
        <HostPanel key={h.address} console={c} address={h.address} />
      ))}
    </main>
  );
}
