/**
 * The shipped Grafana provisioning (site-config/grafana) as tests read it: the InfluxDB data
 * source, every dashboard, every panel target's raw InfluxQL, and Grafana's macro substitution,
 * so a test can run each panel's query against a real influxd.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { InfluxStatementResult } from '../../lib/influx/influx-http.js';
import { projectRoot } from './project-root.js';

export const GRAFANA_DIR = join(projectRoot(), 'site-config/grafana');
export const DASHBOARDS_DIR = join(GRAFANA_DIR, 'dashboards');

export interface GrafanaTarget {
  refId: string;
  query?: string;
  /** PromQL (Prometheus targets) */
  expr?: string;
  rawQuery?: boolean;
  datasource?: { type?: string; uid?: string };
}
export interface GrafanaPanel {
  id: number;
  title: string;
  type: string;
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
}
export interface GrafanaDatasource {
  uid: string;
  type: string;
  url: string;
  jsonData: { dbName: string };
}

/** One panel target of one dashboard file. */
export interface DashboardQuery {
  file: string;
  panel: GrafanaPanel;
  target: GrafanaTarget;
}

/** The provisioned InfluxDB data source. */
export function grafanaDatasource(): GrafanaDatasource {
  const doc = parseYaml(readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/influxdb.yaml'), 'utf8')) as { datasources: GrafanaDatasource[] };
  return doc.datasources[0]!;
}

/** Every dashboard JSON file, sorted by file name. */
export function grafanaDashboards(): Array<{ file: string; dashboard: GrafanaDashboard }> {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as GrafanaDashboard }));
}

/** The panels of a dashboard, rows' nested panels included. */
export function allPanels(panels: GrafanaPanel[]): GrafanaPanel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every target of every panel of every shipped dashboard on `datasourceType` (default the InfluxDB ones). */
export function dashboardQueries(datasourceType = 'influxdb'): DashboardQuery[] {
  return grafanaDashboards().flatMap(({ file, dashboard }) =>
    allPanels(dashboard.panels).flatMap((panel) => (panel.targets ?? []).filter((t) => (t.datasource?.type ?? 'influxdb') === datasourceType).map((target) => ({ file, panel, target }))),
  );
}

/** The `ocs_*` metric names a PromQL expression reads (histogram series by their base name). */
export function promqlMetricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(ocs_[a-z_]+)\b/g)].map((m) => m[1]!))];
}

/** A readable name for a query: `file: panel title (refId)`. */
export function queryName(q: DashboardQuery): string {
  return `${q.file}: ${q.panel.title} (${q.target.refId})`;
}

/** Grafana's macro substitution for InfluxQL (`$timeFilter`, `$__interval`, `$__interval_ms`, `$interval`). */
export function substituteMacros(query: string, fromMs: number, toMs: number, intervalS: number): string {
  return query
    .replaceAll('$timeFilter', `time >= ${fromMs}ms and time <= ${toMs}ms`)
    .replaceAll('$__interval_ms', String(intervalS * 1000))
    .replaceAll('$__interval', `${intervalS}s`)
    .replaceAll('$interval', `${intervalS}s`);
}

/** The non-null values of a statement result (time column excluded), over every series. */
export function nonNullValues(result: InfluxStatementResult | undefined): unknown[] {
  return (result?.series ?? []).flatMap((s) => s.values.flatMap((row) => row.slice(1))).filter((v) => v !== null);
}
