import { describe, expect, it } from 'vitest';
import { mergeArguments } from '../../../lib/site-config/merge-arguments.js';

describe('mergeArguments', () => {
  it('lets the command line win per whole flag, in the site position', () => {
    expect(mergeArguments(['--mode', 'acq', '--num-channels', '16', '--rate', '5'], ['--num-channels', '4'])).toEqual([
      '--mode', 'acq', '--num-channels', '4', '--rate', '5',
    ]);
  });

  it('replaces all values of a flag, even if the command line gives fewer', () => {
    expect(mergeArguments(['--pair', 'a', 'b', '--x'], ['--pair', 'c'])).toEqual(['--pair', 'c', '--x']);
    expect(mergeArguments(['--verbose', '--mode', 'acq'], ['--verbose', 'false'])).toEqual(['--verbose', 'false', '--mode', 'acq']);
  });

  it('appends flags that only the command line has', () => {
    expect(mergeArguments(['--mode', 'acq'], ['--site-file', 'f.yaml', '--extra'])).toEqual(['--mode', 'acq', '--site-file', 'f.yaml', '--extra']);
    expect(mergeArguments([], ['--a', '1'])).toEqual(['--a', '1']);
    expect(mergeArguments(['--a', '1'], [])).toEqual(['--a', '1']);
  });

  it('matches --flag=value with --flag value', () => {
    expect(mergeArguments(['--mode', 'acq'], ['--mode=idle'])).toEqual(['--mode=idle']);
    expect(mergeArguments(['--mode=acq', '--n', '1'], ['--mode', 'idle'])).toEqual(['--mode', 'idle', '--n', '1']);
  });

  it('keeps -5 as a value, not a flag', () => {
    expect(mergeArguments(['--offset', '-5', '--gain', '2'], ['--gain', '-1'])).toEqual(['--offset', '-5', '--gain', '-1']);
  });

  it('keeps repeated flags within one source (append-style)', () => {
    expect(mergeArguments(['--ch', '1', '--mode', 'acq', '--ch', '2'], [])).toEqual(['--ch', '1', '--mode', 'acq', '--ch', '2']);
    expect(mergeArguments(['--ch', '1', '--mode', 'acq', '--ch', '2'], ['--ch', '7', '--ch', '8'])).toEqual([
      '--ch', '7', '--ch', '8', '--mode', 'acq',
    ]);
  });

  it('puts positionals first; the command line ones replace the site ones', () => {
    expect(mergeArguments(['site-pos', '--a', '1'], [])).toEqual(['site-pos', '--a', '1']);
    expect(mergeArguments(['site-pos', '--a', '1'], ['cli-pos', '--b'])).toEqual(['cli-pos', '--a', '1', '--b']);
  });
});
