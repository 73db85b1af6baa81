/**
 * The console's frame: the status bar (router link, Registry, counts), the navigation and the
 * page of the hash route: `#/agents`, `#/agent/<instance-id>`, `#/registry`, `#/hosts`,
 * `#/plots?agent=…&feed=…`. Routes live in the hash so deep links survive a reload.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleSession } from './console-session.js';
import { AgentList, AgentPanel } from './views/agents-view.js';
import { HostsView } from './views/hosts-view.js';
import { PlotsView } from './views/plots-view.js';
import { RegistryView } from './views/registry-view.js';

export interface Route {
  page: 'agents' | 'agent' | 'registry' | 'hosts' | 'plots';
  instanceId: string | null;
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const [head, ...rest] = path.split('/');
  if (head === 'agent' && rest.length > 0) return { page: 'agent', instanceId: decodeURIComponent(rest.join('/')), query };
  if (head === 'registry' || head === 'hosts' || head === 'plots') return { page: head, instanceId: null, query };
  return { page: 'agents', instanceId: null, query };
}

function StatusBar({ console: c }: { console: ConsoleSession }) {
  const s = c.linkState;
  const text =
    s.kind === 'open'
      ? `connected to ${c.config.routerUrl} (realm ${c.config.realm})`
      : s.kind === 'connecting'
        ? `connecting to ${c.config.routerUrl}…`
        : `router connection lost (${s.reason}); reconnecting in ${s.retryInS} s`;
  const live = c.directory.liveCount();
  return (
    <header class={`status-bar ${s.kind}`} data-testid="status-bar" data-link={s.kind}>
      <b>ocs-ts console</b>
      <span data-testid="link-status">{text}</span>
      <span>
        {live} alive / {c.directory.size} agents
      </span>
      <span>{c.registryPresent === true ? `Registry ${c.config.registryAddress}` : c.registryPresent === false ? 'no Registry' : ''}</span>
    </header>
  );
}

export function App({ console: c }: { console: ConsoleSession }) {
  const [, setTick] = useState(0);
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => c.subscribe(() => setTick((n) => n + 1)), []);
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const tab = (page: Route['page'], label: string) => (
    <a href={`#/${page}`} class={route.page === page || (page === 'agents' && route.page === 'agent') ? 'tab active' : 'tab'} data-testid={`tab-${page}`}>
      {label}
    </a>
  );
  return (
    <div class="console">
      <StatusBar console={c} />
      <div class="tabs">
        {tab('agents', 'Agents')}
        {tab('registry', 'Registry')}
        {tab('hosts', 'HostManagers')}
        {tab('plots', 'Plots')}
        <label class="site-password">
          password for all agents{' '}
          <input type="password" data-testid="site-password" onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            if (v === '') c.passwords.delete('*');
            else c.passwords.set('*', v);
          }} />
        </label>
      </div>
      <div class="body">
        {(route.page === 'agents' || route.page === 'agent') && (
          <>
            <AgentList console={c} selectedId={route.instanceId} />
            {route.instanceId !== null ? <AgentPanel console={c} instanceId={route.instanceId} /> : <main class="panel muted">Pick an agent.</main>}
          </>
        )}
        {route.page === 'registry' && <RegistryView console={c} />}
        {route.page === 'hosts' && <HostsView console={c} />}
        {route.page === 'plots' && <PlotsView console={c} query={route.query} />}
      </div>
    </div>
  );
}
