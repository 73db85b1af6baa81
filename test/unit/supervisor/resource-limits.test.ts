import { describe, expect, it } from 'vitest';
import { formatBytes, parseByteSize, parsePercent } from '../../../lib/site-config/resource-sizes.js';
import { NO_LIMITS } from '../../../lib/supervisor/child-record.js';
import { parseProcUsage } from '../../../lib/supervisor/proc-identity.js';
import { addSample, assessUsage, withRlimits, type RunUsage } from '../../../lib/supervisor/resource-limits.js';

const MB = 1024 * 1024;

describe('sizes and shares of the supervise: limits', () => {
  it('reads bytes and K/M/G/T suffixes as powers of 1024', () => {
    expect(parseByteSize('512M')).toBe(512 * MB);
    expect(parseByteSize('1.5G')).toBe(1.5 * 1024 * MB);
    expect(parseByteSize('64k')).toBe(64 * 1024);
    expect(parseByteSize('2GiB')).toBe(2 * 1024 * MB);
    expect(parseByteSize(1048576)).toBe(MB);
    for (const bad of ['', 'lots', '-5M', '5X', 0, -1, 1.5, null, true]) expect(parseByteSize(bad)).toBeNull();
  });

  it('reads percentages of one core', () => {
    expect(parsePercent('80%')).toBe(80);
    expect(parsePercent('250 %')).toBe(250);
    expect(parsePercent(50)).toBe(50);
    for (const bad of ['80', '0%', 'half', -3, null]) expect(parsePercent(bad)).toBeNull();
  });

  it('formats bytes the way the breach reasons show them', () => {
    expect(formatBytes(612 * MB)).toBe('612 MB');
    expect(formatBytes(1.5 * 1024 * MB)).toBe('1.5 GB');
    expect(formatBytes(900 * 1024)).toBe('900 KB');
    expect(formatBytes(12)).toBe('12 B');
  });
});

describe('usage windows and breaches', () => {
  const TICKS = 100;
  const run = (samples: [number, number, number][], windowMs = 5000): RunUsage => {
    let u: RunUsage | null = null;
    for (const [atMs, cpuTicks, rssMb] of samples) u = addSample(u, 42, { atMs, cpuTicks, rssBytes: rssMb * MB }, windowMs, TICKS);
    return u as RunUsage;
  };

  it('computes the CPU share over the window and drops older samples', () => {
    // 50 ticks per second = half a core
    const u = run(Array.from({ length: 10 }, (_, i) => [i * 1000, i * 50, 100] as [number, number, number]));
    expect(u.cpuPercent).toBeCloseTo(50, 5);
    expect(u.spanMs).toBe(5000);
    expect(u.samples).toHaveLength(6);
    expect(u.rssBytes).toBe(100 * MB);
  });

  it('starts a new window for a new pid', () => {
    const u = addSample(run([[0, 0, 10], [1000, 100, 10]]), 43, { atMs: 2000, cpuTicks: 5, rssBytes: MB }, 5000, TICKS);
    expect(u.samples).toHaveLength(1);
    expect(u.cpuPercent).toBeNull();
  });

  it('breaks memory-max on one sample, with the reason in the contract form', () => {
    const limits = { ...NO_LIMITS, memoryMaxBytes: 512 * MB };
    expect(assessUsage(limits, run([[0, 0, 500]]), 5000)).toBeNull();
    expect(assessUsage(limits, run([[0, 0, 612]]), 5000)).toBe('memory-max exceeded: 612 MB > 512 MB');
  });

  it('breaks cpu-max only over (most of) a full window', () => {
    const limits = { ...NO_LIMITS, cpuMaxPercent: 80 };
    const spinning = (n: number) => run(Array.from({ length: n }, (_, i) => [i * 1000, i * 99, 50] as [number, number, number]));
    expect(assessUsage(limits, spinning(3), 5000)).toBeNull(); // a 2 s burst is not a breach
    expect(assessUsage(limits, spinning(7), 5000)).toBe('cpu-max exceeded: 99% > 80% of one core over 5 s');
    expect(assessUsage({ ...NO_LIMITS, cpuMaxPercent: 150 }, spinning(7), 5000)).toBeNull();
  });
});

describe('launch-time limits and /proc parsing', () => {
  it('runs the command under prlimit when nofile is set, and refuses without prlimit', () => {
    expect(withRlimits(['node', 'a.js'], NO_LIMITS, '/usr/bin/prlimit')).toEqual(['node', 'a.js']);
    expect(withRlimits(['node', 'a.js'], { ...NO_LIMITS, nofile: 256 }, '/usr/bin/prlimit')).toEqual(['/usr/bin/prlimit', '--nofile=256:256', '--', 'node', 'a.js']);
    expect(() => withRlimits(['node'], { ...NO_LIMITS, nofile: 256 }, null)).toThrow('nofile is set but this host has no prlimit (util-linux) to apply it');
  });

  it('reads CPU ticks and resident pages from a stat line whose comm has spaces and parentheses', () => {
    const stat = '4242 (my (odd) agent) S 1 4242 4242 0 -1 4194304 500 0 0 0 120 30 0 0 20 0 3 0 98765 1000000 2560 18446744073709551615';
    expect(parseProcUsage(stat)).toEqual({ pid: 4242, pgrp: 4242, cpuTicks: 150, rssPages: 2560 });
    expect(parseProcUsage('garbage')).toBeNull();
  });
});
