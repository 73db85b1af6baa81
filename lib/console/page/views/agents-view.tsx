/**
 * The agent list (every address heard beating, or known from the Registry) and, for the one in
 * the deep link `#/agent/<instance-id>`, its panel: identity, liveness, Registry record,
 * problems from the wire, password, feeds, and an OpCard per op.
 */
import { Component } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleAgent } from '../../agent-directory.js';
import { ageText } from '../../registry-rows.js';
import type { ConsoleSession } from '../console-session.js';
import { hashFor, opCodeText, timeText } from './format.js';
import { OpCard } from './op-card.js';

class AgentRow extends Component<{ agent: ConsoleAgent; revision: number; isSelected: boolean }> {
  override shouldComponentUpdate(next: { revision: number; isSelected: boolean }): boolean {
    return next.revision !== this.props.revision || next.isSelected !== this.props.isSelected;
  }
  override render() {
    const { agent, isSelected } = this.props;
    const codes = Object.entries(agent.opCodes);
    return (
      <li class={`agent-row${isSelected ? ' selected' : ''}${agent.isExpired ? ' expired' : ''}`} data-testid={`agent-row-${agent.instanceId}`} data-expired={String(agent.isExpired)}>
        <a href={hashFor(`agent/${agent.instanceId}`)}>
          <span class={agent.isExpired ? 'dot dead' : 'dot live'} />
          <b>{agent.instanceId}</b> <span class="muted">{agent.agentClass ?? '?'}</span>
          {agent.problems.length > 0 && <span class="badge error" title={agent.problems.at(-1)?.text}>!</span>}
          <span class="codes">{codes.length > 0 ? codes.map(([op, code]) => `${op}:${opCodeText(code)}`).join(' ') : ''}</span>
        </a>
      </li>
    );
  }
}

export function AgentList({ console: c, selectedId }: { console: ConsoleSession; selectedId: string | null }) {
  const [filter, setFilter] = useState('');
  const agents = c.directory.list().filter((a) => filter === '' || a.instanceId.includes(filter) || (a.agentClass ?? '').includes(filter));
  return (
    <nav class="agent-list">
      <input placeholder={`filter ${c.directory.size} agents`} value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} data-testid="agent-filter" />
      <ul data-testid="agent-list">
        {agents.map((a) => (
          <AgentRow key={a.address} agent={a} revision={a.revision} isSelected={a.instanceId === selectedId} />
        ))}
      </ul>
      {c.directory.wireProblems.length > 0 && (
        <div class="problems" data-testid="wire-problems">
          {c.directory.wireProblems.map((p, i) => (
            <div key={i}>{p.text}</div>
          ))}
        </div>
      )}
    </nav>
  );
}

function PasswordBox({ console: c, address }: { console: ConsoleSession; address: string }) {
  const [value, setValue] = useState(c.passwords.get(address) ?? '');
  return (
    <label class="password">
      password <input type="password" value={value} data-testid="agent-password" onInput={(e) => {
        const v = (e.target as HTMLInputElement).value;
        setValue(v);
        if (v === '') c.passwords.delete(address);
        else c.passwords.set(address, v);
      }} />
    </label>
  );
}

export function AgentPanel({ console: c, instanceId }: { console: ConsoleSession; instanceId: string }) {
  const agent = c.directory.byInstanceId(instanceId);
  const address = `${c.config.addressRoot}.${instanceId}`;
  useEffect(() => {
    c.selectedAddress = address;
    return () => {
      if (c.selectedAddress === address) c.selectedAddress = null;
    };
  }, [address]);
  if (agent === undefined) {
    return (
      <main class="panel" data-testid="agent-panel-unknown">
        <h2>{instanceId}</h2>
        <p class="muted">No heartbeat from {address} yet (waiting; the list fills as agents beat).</p>
      </main>
    );
  }
  const api = agent.api;
  const nowS = Date.now() / 1000;
  return (
    <main class="panel" data-testid="agent-panel" data-instance-id={instanceId}>
      <h2>
        {agent.instanceId} <span class="muted">{agent.agentClass ?? '?'}</span>{' '}
        <span class={agent.isExpired ? 'badge dead' : 'badge live'} data-testid="agent-liveness">
          {agent.isExpired ? 'expired' : 'alive'}
        </span>
      </h2>
      <div class="facts">
        <span>{agent.address}</span>
        <span>last heartbeat: {agent.lastBeatAtMs === null ? 'never (Registry only)' : `${ageText((Date.now() - agent.lastBeatAtMs) / 1000)} ago`}</span>
        {agent.registry !== null && (
          <span data-testid="agent-registry">
            registry: {agent.registry.expired ? `expired at ${timeText(agent.registry.time_expired)}` : 'live'}, last seen {ageText(nowS - agent.registry.last_updated)} ago, restarts {agent.restarts}
          </span>
        )}
        {api?.instance_hostname !== undefined && <span>host {api.instance_hostname} pid {api.instance_pid}</span>}
      </div>
      {agent.problems.length > 0 && (
        <div class="problems" data-testid="agent-problems">
          {agent.problems.map((p, i) => (
            <div key={i}>
              <span class="muted">{timeText(p.atMs / 1000)}</span> {p.text}
            </div>
          ))}
        </div>
      )}
      {agent.apiError !== null && <div class="problems">{agent.apiError}</div>}
      {api?.access_control != null && <PasswordBox console={c} address={agent.address} />}
      {api?.feeds !== undefined && api.feeds.length > 0 && (
        <div class="feeds">
          feeds:{' '}
          {api.feeds.map(([name, feed]) => (
            <span key={name}>
              {feed['record'] === true ? <a href={hashFor(`plots?agent=${agent.instanceId}&feed=${name}`)}>{name} (plot)</a> : name}{' '}
            </span>
          ))}
        </div>
      )}
      {api === null && agent.apiError === null && <p class="muted">reading get_api…</p>}
      {api !== null && (
        <div class="ops">
          {api.tasks.map(([name, , info]) => (
            <OpCard key={`t-${name}`} console={c} address={agent.address} name={name} kind="task" info={info} code={agent.opCodes[name]} session={agent.sessions[name]} />
          ))}
          {api.processes.map(([name, , info]) => (
            <OpCard key={`p-${name}`} console={c} address={agent.address} name={name} kind="process" info={info} code={agent.opCodes[name]} session={agent.sessions[name]} />
          ))}
        </div>
      )}
    </main>
  );
}
