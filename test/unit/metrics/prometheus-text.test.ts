import { describe, expect, it } from 'vitest';
import { histogramQuantile, parsePrometheusText, sumOf } from '../../../lib/metrics/prometheus-text.js';

const TEXT = `# HELP ocs_hostmanager_children supervised children, by state
# TYPE ocs_hostmanager_children gauge
ocs_hostmanager_children{state="RUNNING"} 3
ocs_hostmanager_children{state="CRASHED"} 1
ocs_router_messages_total{type="call",direction="in"} 25
ocs_router_messages_total{type="yield",direction="in"} 25
ocs_router_messages_total{type="result",direction="out"} 25
h_seconds_bucket{le="0.001"} 50
h_seconds_bucket{le="0.01"} 90
h_seconds_bucket{le="+Inf"} 100
h_seconds_sum 0.4
h_seconds_count 100
`;

describe('reading the Prometheus text format', () => {
  const samples = parsePrometheusText(TEXT);

  it('keeps every sample by its series and sums by label', () => {
    expect(samples.get('ocs_hostmanager_children{state="RUNNING"}')).toBe(3);
    expect(sumOf(samples, 'ocs_hostmanager_children')).toBe(4);
    expect(sumOf(samples, 'ocs_router_messages_total', { direction: 'in' })).toBe(50);
    expect(sumOf(samples, 'ocs_router_messages_total', { type: 'call', direction: 'in' })).toBe(25);
    expect(sumOf(samples, 'ocs_router_messages')).toBe(0);
  });

  it('interpolates a quantile within the bucket as histogram_quantile does', () => {
    expect(histogramQuantile(samples, 'h_seconds', 0.5)).toBeCloseTo(0.001);
    expect(histogramQuantile(samples, 'h_seconds', 0.7)).toBeCloseTo(0.001 + 0.009 * (20 / 40));
    expect(histogramQuantile(samples, 'h_seconds', 0.99)).toBe(0.01);
    expect(histogramQuantile(samples, 'none', 0.5)).toBeNull();
  });
});
