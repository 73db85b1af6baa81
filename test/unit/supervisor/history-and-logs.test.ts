import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryLog } from '../../../lib/supervisor/history-log.js';
import { ChildLogFiles, tailFile } from '../../../lib/supervisor/log-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sup-files-'));
  dirs.push(d);
  return d;
}

describe('history-log', () => {
  it('appends JSONL, rotates by size, keeps a ring and continues the sequence after reopening', () => {
    const path = join(tmp(), 'history-00.jsonl');
    const log = new HistoryLog(path, { maxBytes: 2000, keep: 1, ringSize: 5 });
    log.open();
    for (let i = 0; i < 40; i++) log.append({ atMs: i, kind: 'transition', id: 'a', from: 'RUNNING', to: 'BACKOFF', cause: `n${i}` });
    log.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(statSync(path).size).toBeLessThanOrEqual(2200);
    expect(log.recent().map((r) => r.seq)).toEqual([36, 37, 38, 39, 40]);
    const again = new HistoryLog(path);
    again.open();
    expect(again.append({ atMs: 0, kind: 'event', id: null, event: 'x' }).seq).toBe(41);
    again.close();
  });
});

describe('log-files', () => {
  it('tails the last lines, across chunk boundaries', () => {
    const path = join(tmp(), 'a.log');
    writeFileSync(path, Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(tailFile(path, 3)).toEqual(['line 4997', 'line 4998', 'line 4999']);
    expect(tailFile(path, 0)).toEqual([]);
    expect(tailFile(join(tmp(), 'missing.log'), 3)).toEqual([]);
  });

  it('rotates by rename at start and by copy-truncate while running', async () => {
    const dir = tmp();
    const logs = new ChildLogFiles(dir, 'c1', { maxBytes: 100, keep: 2 });
    let fds = logs.openForRun();
    ChildLogFiles.closeFds(fds);
    appendFileSync(logs.stdoutPath, 'x'.repeat(150));
    fds = logs.openForRun(); // above max: renamed to .1
    ChildLogFiles.closeFds(fds);
    expect(statSync(`${logs.stdoutPath}.1`).size).toBe(150);
    expect(statSync(logs.stdoutPath).size).toBe(0);
    appendFileSync(logs.stdoutPath, 'y'.repeat(250));
    expect(await logs.rotateIfOversized()).toEqual([logs.stdoutPath]);
    expect(readFileSync(`${logs.stdoutPath}.1`, 'utf8')).toBe('y'.repeat(250));
    expect(statSync(`${logs.stdoutPath}.2`).size).toBe(150);
    expect(statSync(logs.stdoutPath).size).toBe(0);
  });

  it('shows the running copy as <file>.1 only once it is whole', async () => {
    const dir = tmp();
    const logs = new ChildLogFiles(dir, 'big', { maxBytes: 1000, keep: 2 });
    ChildLogFiles.closeFds(logs.openForRun());
    writeFileSync(`${logs.stdoutPath}.1`, 'o'.repeat(10));
    const size = 64 * 1024 * 1024;
    appendFileSync(logs.stdoutPath, Buffer.alloc(size, 0x7a));
    const seen = new Set<number>();
    let done = false;
    const rotation = logs.rotateIfOversized().finally(() => {
      done = true;
    });
    while (!done) {
      if (existsSync(`${logs.stdoutPath}.1`)) seen.add(statSync(`${logs.stdoutPath}.1`).size);
      await new Promise((res) => setImmediate(res));
    }
    expect(await rotation).toEqual([logs.stdoutPath]);
    seen.add(statSync(`${logs.stdoutPath}.1`).size);
    expect([...seen].filter((s) => s !== 10 && s !== size)).toEqual([]);
    expect(statSync(`${logs.stdoutPath}.1`).size).toBe(size);
    expect(statSync(`${logs.stdoutPath}.2`).size).toBe(10);
    expect(readdirSync(dir).sort()).toEqual(['big.err.log', 'big.out.log', 'big.out.log.1', 'big.out.log.2']);
  });

  it('never leaves <file>.1 missing while the older copies are shifted up', async () => {
    const dir = tmp();
    const logs = new ChildLogFiles(dir, 'shift', { maxBytes: 100, keep: 3 });
    ChildLogFiles.closeFds(logs.openForRun());
    const one = `${logs.stdoutPath}.1`;
    writeFileSync(one, 'a'.repeat(10));
    // The gap this guards against lasts one asynchronous rename: watch many rotations.
    let missing = 0;
    for (let round = 0; round < 40; round++) {
      appendFileSync(logs.stdoutPath, 'c'.repeat(300 + round));
      let done = false;
      const rotation = logs.rotateIfOversized().finally(() => {
        done = true;
      });
      while (!done) {
        if (!existsSync(one)) missing += 1;
        await new Promise((res) => setImmediate(res));
      }
      expect(await rotation).toEqual([logs.stdoutPath]);
    }
    expect(missing).toBe(0);
    expect(readFileSync(one, 'utf8')).toBe('c'.repeat(339));
    expect(readFileSync(`${logs.stdoutPath}.2`, 'utf8')).toBe('c'.repeat(338));
    expect(readFileSync(`${logs.stdoutPath}.3`, 'utf8')).toBe('c'.repeat(337));
    expect(readdirSync(dir).sort()).toEqual(['shift.err.log', 'shift.out.log', 'shift.out.log.1', 'shift.out.log.2', 'shift.out.log.3']);

    // At a restart the live file is renamed to .1 over the previous copy.
    appendFileSync(logs.stdoutPath, 'd'.repeat(150));
    ChildLogFiles.closeFds(logs.openForRun());
    expect(readFileSync(one, 'utf8')).toBe('d'.repeat(150));
    expect(readFileSync(`${logs.stdoutPath}.2`, 'utf8')).toBe('c'.repeat(339));
    expect(readFileSync(`${logs.stdoutPath}.3`, 'utf8')).toBe('c'.repeat(338));
  });
});
