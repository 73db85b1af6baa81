/**
 * capYoungGeneration in a node process of its own (the V8 flag it sets is process-wide): a load
 * that keeps some of what it allocates alive, as a router relaying traffic does, grows V8's new
 * space to 32 MB without the cap and stays at the cap with it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/project-root.js';
import { registerCleanup } from '../../helpers/router.js';

const MODULE = pathToFileURL(join(projectRoot(), 'dist', 'lib', 'router', 'young-generation.js')).href;
const MB = 1024 * 1024;

/** Runs the load with the given cap; resolves with the largest new space seen, in bytes. */
function largestNewSpace(capMb: number): Promise<number> {
  const script = `
    const { capYoungGeneration, newSpaceBytes } = await import(${JSON.stringify(MODULE)});
    capYoungGeneration(${capMb});
    const kept = new Array(30000);
    let largest = 0;
    for (let round = 0; round < 4000; round++) {
      for (let i = 0; i < 2000; i++) kept[(round * 2000 + i) % kept.length] = { id: i, text: 'message ' + i, args: [i, round] };
      largest = Math.max(largest, newSpaceBytes());
      // a round is about one event-loop turn of a busy router; the GC observer runs between turns
      await new Promise((resolve) => setImmediate(resolve));
    }
    process.stdout.write(String(largest));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    registerCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

describe('capYoungGeneration', () => {
  it('keeps the new space at the cap under a load that grows it to its maximum without one', async () => {
    const [uncapped, capped] = await Promise.all([largestNewSpace(0), largestNewSpace(8)]);
    expect(uncapped).toBeGreaterThanOrEqual(16 * MB);
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(8 * MB);
  });
});
