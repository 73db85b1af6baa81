/** Every agent the Registry tracks, sortable, ages ticking; and the live `agent_status` stream. */
import { useState } from 'preact/hooks';
import { REGISTRY_COLUMNS, ageText, registryRows, type RegistryColumn, type RegistrySort } from '../../registry-rows.js';
import type { ConsoleSession } from '../console-session.js';
import { hashFor, opCodeText, timeText } from './format.js';

export function RegistryView({ console: c }: { console: ConsoleSession }) {
  const [sort, setSort] = useState<RegistrySort>({ column: 'address', isDescending: false });
  const rows = registryRows(c.directory.list(), Date.now(), sort);
  const by = (column: RegistryColumn) => setSort({ column, isDescending: sort.column === column ? !sort.isDescending : false });
  return (
    <main class="panel" data-testid="registry-view">
      <h2>
        Registry <span class="muted">{c.config.registryAddress}</span>
      </h2>
      {c.directory.registryProblem !== null && <div class="problems" data-testid="registry-problem">{c.directory.registryProblem}</div>}
      <table class="registry">
        <thead>
          <tr>
            {REGISTRY_COLUMNS.map((col) => (
              <th key={col} onClick={() => by(col)} data-testid={`sort-${col}`} class={sort.column === col ? 'sorted' : ''}>
                {col.replace('_', ' ')} {sort.column === col ? (sort.isDescending ? '▼' : '▲') : ''}
              </th>
            ))}
            <th>op codes</th>
          </tr>
        </thead>
        <tbody data-testid="registry-rows">
          {rows.map((r) => (
            <tr key={r.address} class={r.isExpired ? 'expired' : ''} data-testid={`registry-row-${r.instanceId}`} data-expired={String(r.isExpired)}>
              <td>
                <a href={hashFor(`agent/${r.instanceId}`)}>{r.address}</a>
              </td>
              <td>{r.agentClass}</td>
              <td>{r.isExpired ? 'expired' : 'live'}</td>
              <td>{ageText(r.lastSeenAgeS)}</td>
              <td>{r.restarts}</td>
              <td class="codes">
                {Object.entries(r.opCodes)
                  .map(([op, code]) => `${op}:${opCodeText(code)}`)
                  .join(' ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>agent_status events</h3>
      <ul class="events" data-testid="registry-events">
        {c.directory.events
          .slice(-50)
          .reverse()
          .map((e, i) => (
            <li key={`${e.atMs}-${i}`}>
              <span class="muted">{timeText(e.time)}</span> <b>{e.event}</b> {e.agentAddress} <span class="muted">{e.detail}</span>
            </li>
          ))}
      </ul>
    </main>
  );
}
