import { describe, expect, it } from 'vitest';
import { paramFields, paramsFromForm, paramsFromJson } from '../../../lib/ops/docstring-params.js';

const DELAY_DOC =
  'delay_task(delay=5, succeed=True)\n\n**Task** (abortable) - Sleep.\n\nArgs:\n    delay (float, optional): Time to wait before returning, in seconds. Defaults to 5.\n    succeed (bool, optional): Whether to return success or not. Defaults to True.';
const LOGS_DOC = "logs(id, stream='both', lines=100)\n\n**Task** - The tail of a child's stdout/stderr files, in session.data.";
const UPDATE_DOC =
  "update(requests=[], reload_config=False)\n\n**Task** - Set target states.\n\nParameters:\n    requests (list): (instance_id or 'all', 'up' or 'down') pairs, applied in order.\n    reload_config (bool): Re-read the site file first.";

describe('paramFields', () => {
  it('reads names and defaults from the signature and types and help from Args', () => {
    expect(paramFields('delay_task', DELAY_DOC)).toEqual([
      { name: 'delay', type: 'float', defaultText: '5', doc: 'Time to wait before returning, in seconds. Defaults to 5.' },
      { name: 'succeed', type: 'bool', defaultText: 'True', doc: 'Whether to return success or not. Defaults to True.' },
    ]);
  });

  it('guesses types from the defaults when there is no Args section', () => {
    expect(paramFields('logs', LOGS_DOC).map((f) => [f.name, f.type, f.defaultText])).toEqual([
      ['id', 'any', null],
      ['stream', 'str', "'both'"],
      ['lines', 'int', '100'],
    ]);
  });

  it('reads a Parameters section and list types', () => {
    expect(paramFields('update', UPDATE_DOC).map((f) => [f.name, f.type])).toEqual([
      ['requests', 'list'],
      ['reload_config', 'bool'],
    ]);
  });

  it('gives no fields without a docstring or one that names no parameters', () => {
    expect(paramFields('acq', null)).toEqual([]);
    expect(paramFields('acq', 'Acquire data.')).toEqual([]);
  });
});

describe('paramsFromForm', () => {
  const fields = [...paramFields('delay_task', DELAY_DOC), ...paramFields('update', UPDATE_DOC), ...paramFields('logs', LOGS_DOC)];

  it('converts each value to its type and leaves empty ones out', () => {
    expect(paramsFromForm(fields, { delay: '1.5', succeed: 'false', requests: '[["a", "up"]]', lines: '20', id: 'fake-data1', stream: '' })).toEqual({
      ok: true,
      params: { delay: 1.5, succeed: false, requests: [['a', 'up']], lines: 20, id: 'fake-data1' },
    });
  });

  it('names the parameter and what is wrong with its value', () => {
    expect(paramsFromForm(fields, { delay: 'abc' })).toEqual({ ok: false, error: "delay: 'abc' is not a number" });
    expect(paramsFromForm(fields, { lines: '2.5' })).toEqual({ ok: false, error: "lines: '2.5' is not an integer" });
    expect(paramsFromForm(fields, { succeed: 'yes' })).toEqual({ ok: false, error: "succeed: 'yes' is not true or false" });
    expect(paramsFromForm(fields, { requests: '{"a": 1}' })).toEqual({ ok: false, error: 'requests: expected a JSON list' });
    expect(paramsFromForm(fields, { requests: '[oops' })).toEqual({ ok: false, error: 'requests: not JSON ([…])' });
  });
});

describe('paramsFromJson', () => {
  it('takes one JSON object, empty text as {}', () => {
    expect(paramsFromJson('{"delay": 1}')).toEqual({ ok: true, params: { delay: 1 } });
    expect(paramsFromJson('  ')).toEqual({ ok: true, params: {} });
  });

  it('refuses other JSON and broken text with a reason', () => {
    expect(paramsFromJson('[1]')).toEqual({ ok: false, error: 'params must be a JSON object, e.g. {"delay": 1}' });
    expect(paramsFromJson('{delay: 1}')).toMatchObject({ ok: false, error: expect.stringMatching(/^params are not JSON: /) });
  });
});
