import { describe, expect, it } from 'vitest';
import { flattenArguments, groupArguments, isFlagToken, pythonStr } from '../../../lib/site-config/arguments.js';

describe('arguments', () => {
  it('str()s scalars as Python does', () => {
    expect([true, false, null, 'x', 16, -5, 0, 0.5, 1.25, -0.1].map(pythonStr)).toEqual([
      'True', 'False', 'None', 'x', '16', '-5', '0', '0.5', '1.25', '-0.1',
    ]);
    expect([1e-5, 0.0001, 1.5e-7, 1e16, 2.5e20, -3e-9, Infinity, -Infinity, NaN].map(pythonStr)).toEqual([
      '1e-05', '0.0001', '1.5e-07', '1e+16', '2.5e+20', '-3e-09', 'inf', '-inf', 'nan',
    ]);
    expect([123456.789, 1234567890123456].map(pythonStr)).toEqual(['123456.789', '1234567890123456']);
  });

  it('flattens nested lists in order', () => {
    expect(flattenArguments(['--a', [['--b', 1], [], ['--c', [true, null]]], 2.5])).toEqual(['--a', '--b', '1', '--c', 'True', 'None', '2.5']);
  });

  it('treats a dash followed by a letter as a flag and -5 as a value', () => {
    expect(['--mode', '-v', '---x', '-é'].map(isFlagToken)).toEqual([true, true, true, true]);
    expect(['-5', '--5', '-', '--', '-.5', 'acq', ''].map(isFlagToken)).toEqual([false, false, false, false, false, false, false]);
  });

  it('groups flags with their values, positionals first', () => {
    expect(groupArguments(['pos', '--a', '1', '2', '--b=-x', '--c', '-5', '-d'])).toEqual([
      { flag: null, tokens: ['pos'], values: ['pos'] },
      { flag: '--a', tokens: ['--a', '1', '2'], values: ['1', '2'] },
      { flag: '--b', tokens: ['--b=-x'], values: ['-x'] },
      { flag: '--c', tokens: ['--c', '-5'], values: ['-5'] },
      { flag: '-d', tokens: ['-d'], values: [] },
    ]);
    expect(groupArguments([])).toEqual([]);
  });
});
