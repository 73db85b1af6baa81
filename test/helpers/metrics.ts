import { spawn } from 'node:child_process';
import { parsePrometheusText } from '../../lib/metrics/prometheus-text.js';

/** One scrape: the text, and the value of a sample (`name{labels}` exactly as exposed), 0 when absent. */
export async function scrape(url: string): Promise<{ text: string; value(sample: string): number }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  const text = await res.text();
  const samples = parsePrometheusText(text);
  return { text, value: (sample) => samples.get(sample) ?? 0 };
}

/** Debian's promtool (package prometheus) linting a scrape: its exit code and what it said. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, output }));
    p.stdin.end(text);
  });
}
