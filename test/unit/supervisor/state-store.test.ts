import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildSpecSchema, newChildRecord } from '../../../lib/supervisor/child-record.js';
import { StateStore, type SupervisorState } from '../../../lib/supervisor/state-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sup-store-'));
  dirs.push(d);
  return d;
}

function state(seq: number): SupervisorState {
  const rec = newChildRecord(ChildSpecSchema.parse({ id: 'a', source: 'create', cmd: ['x'] }), 1, 'operator');
  return {
    schema: 1,
    supervisor: { supervisorId: 'sup-00', instanceIndex: 0, pid: 1, startTicks: null, bootId: 'b', seq, writtenAtMs: 1 },
    children: { a: rec },
  };
}

describe('state-store', () => {
  it('round-trips through an atomic write and keeps the previous version', () => {
    const store = new StateStore(join(tmp(), 'sup-00.json'));
    store.save(state(1));
    store.save(state(2));
    expect(store.load(0)).toMatchObject({ source: 'main', problems: [], state: { supervisor: { seq: 2 } } });
    expect(existsSync(store.prevPath)).toBe(true);
    expect(existsSync(store.tmpPath)).toBe(false);
  });

  it('falls back to .prev when the main file is truncated, and moves the bad one aside', () => {
    const dir = tmp();
    const store = new StateStore(join(dir, 'sup-00.json'));
    store.save(state(1));
    store.save(state(2));
    writeFileSync(store.path, '{"schema":1,"supe');
    const r = store.load(123);
    expect(r.source).toBe('prev');
    expect(r.state?.supervisor.seq).toBe(1);
    expect(r.problems[0]).toMatch(/corrupt state file/);
    expect(readdirSync(dir)).toContain('sup-00.json.corrupt-123');
  });

  it('reports a schema mismatch and a leftover temp file without throwing', () => {
    const store = new StateStore(join(tmp(), 'sup-00.json'));
    writeFileSync(store.path, JSON.stringify({ schema: 99 }));
    writeFileSync(store.tmpPath, 'partial');
    const r = store.load(5);
    expect(r.state).toBeNull();
    expect(r.source).toBe('none');
    expect(r.problems.join('\n')).toMatch(/unfinished write/);
    expect(r.problems.join('\n')).toMatch(/invalid state file/);
  });

  it('starts empty when nothing exists', () => {
    expect(new StateStore(join(tmp(), 'sup-00.json')).load(0)).toEqual({ state: null, source: 'none', problems: [] });
  });
});
