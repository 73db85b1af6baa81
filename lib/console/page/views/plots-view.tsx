/**
 * Live plots of any recorded feed: pick an agent, one of its `record=true` feeds, then fields;
 * a uPlot time series over a rolling window (10 min by default), redrawn with the views.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { FieldKey } from '../../feed-window.js';
import type { ConsoleSession, PlotSubscription } from '../console-session.js';

/** Channels chosen when a feed is first opened. */
const DEFAULT_FIELDS = 16;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function Chart({ plot, fields, revision }: { plot: PlotSubscription; fields: FieldKey[]; revision: number }) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const dataOf = () => {
    const tables = plot.window.tables(fields);
    if (tables.length === 0) return null;
    const labels = tables.flatMap((t) => t.fields.map((f) => `${t.block}/${f}`));
    const data = tables.length === 1 ? (tables[0]!.data as uPlot.AlignedData) : uPlot.join(tables.map((t) => t.data as uPlot.AlignedData));
    return { labels, data };
  };
  useLayoutEffect(() => {
    const d = dataOf();
    if (host.current === null || d === null) return;
    const opts: uPlot.Options = {
      width: Math.max(400, host.current.clientWidth || 900),
      height: 360,
      scales: { x: { time: true } },
      series: [{}, ...d.labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length] as string, width: 1, points: { show: false } }))],
    };
    chart.current = new uPlot(opts, d.data, host.current);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, [plot, fields.join(','), dataOf() === null]);
  useLayoutEffect(() => {
    const d = dataOf();
    if (chart.current !== null && d !== null) chart.current.setData(d.data);
  }, [revision]);
  return <div ref={host} class="chart" data-testid="plot-chart" />;
}

export function PlotsView({ console: c, query }: { console: ConsoleSession; query: URLSearchParams }) {
  const agents = c.directory.list().filter((a) => a.api?.feeds?.some(([, f]) => f['record'] === true));
  const agentId = query.get('agent') ?? '';
  const feedName = query.get('feed') ?? '';
  const agent = c.directory.byInstanceId(agentId);
  const feeds = (agent?.api?.feeds ?? []).filter(([, f]) => f['record'] === true).map(([n]) => n);
  const plot = agent !== undefined && feeds.includes(feedName) ? c.plot(agent.address, feedName) : null;
  const [chosen, setChosen] = useState<FieldKey[] | null>(null);
  const keys = plot?.window.fieldKeys() ?? [];
  const fields = chosen ?? keys.slice(0, DEFAULT_FIELDS);
  useEffect(() => setChosen(null), [agentId, feedName]);
  const go = (a: string, f: string) => (location.hash = `#/plots?agent=${encodeURIComponent(a)}&feed=${encodeURIComponent(f)}`);
  return (
    <main class="panel" data-testid="plots-view">
      <h2>Live plots</h2>
      <div class="pickers">
        <select value={agentId} onChange={(e) => go((e.target as HTMLSelectElement).value, '')} data-testid="plot-agent">
          <option value="">agent…</option>
          {agents.map((a) => (
            <option key={a.instanceId} value={a.instanceId}>
              {a.instanceId}
            </option>
          ))}
        </select>
        <select value={feedName} onChange={(e) => go(agentId, (e.target as HTMLSelectElement).value)} data-testid="plot-feed">
          <option value="">feed…</option>
          {feeds.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
        {plot !== null && (
          <span class="muted" data-testid="plot-samples" data-samples={plot.window.sampleCount}>
            {plot.window.sampleCount} samples received, {plot.window.heldSamples()} in the {plot.window.windowS / 60} min window
          </span>
        )}
      </div>
      {plot?.error != null && <div class="problems" data-testid="plot-error">{plot.error}</div>}
      {plot !== null && (
        <div class="fields" data-testid="plot-fields">
          {keys.map((k) => (
            <label key={k}>
              <input
                type="checkbox"
                checked={fields.includes(k)}
                onChange={() => setChosen(fields.includes(k) ? fields.filter((f) => f !== k) : [...fields, k])}
              />
              {k}
            </label>
          ))}
        </div>
      )}
      {plot !== null && fields.length > 0 && <Chart plot={plot} fields={fields} revision={plot.window.revision} />}
      {plot !== null && keys.length === 0 && <p class="muted">waiting for the feed's first message…</p>}
    </main>
  );
}
