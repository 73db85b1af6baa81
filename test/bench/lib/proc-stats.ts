import { readFileSync } from 'node:fs';

/**
 * CPU and memory of a process from /proc: utime+stime (fields 14 and 15 of /proc/<pid>/stat,
 * in clock ticks) and VmRSS from /proc/<pid>/status. CPU is reported as a share of one core
 * (100 = one core fully busy).
 */

/** Linux's USER_HZ; 100 on every mainstream kernel build (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_S = 100;
const RSS_SAMPLE_INTERVAL_MS = 250;

export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) is in parentheses and may contain spaces: split after it
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

export function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface UsageSummary {
  routerCpuPct: number;
  clientCpuPct: number;
  routerRssPeakMb: number;
  routerRssEndMb: number;
  elapsedS: number;
}

/** Measures a window: router CPU and peak RSS (sampled), and this process's CPU. */
export class UsageWindow {
  private readonly startedAtMs = performance.now();
  private readonly routerCpuStartS: number;
  private readonly clientCpuStart = process.cpuUsage();
  private rssPeakMb: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly routerPid: number) {
    this.routerCpuStartS = readCpuSeconds(routerPid);
    this.rssPeakMb = readRssMb(routerPid);
    this.timer = setInterval(() => this.sampleRss(), RSS_SAMPLE_INTERVAL_MS);
  }

  private sampleRss(): number {
    const rss = readRssMb(this.routerPid);
    if (rss > this.rssPeakMb) this.rssPeakMb = rss;
    return rss;
  }

  stop(): UsageSummary {
    clearInterval(this.timer);
    const elapsedS = (performance.now() - this.startedAtMs) / 1000;
    const client = process.cpuUsage(this.clientCpuStart);
    const routerRssEndMb = this.sampleRss();
    return {
      routerCpuPct: ((readCpuSeconds(this.routerPid) - this.routerCpuStartS) / elapsedS) * 100,
      clientCpuPct: ((client.user + client.system) / 1e6 / elapsedS) * 100,
      routerRssPeakMb: this.rssPeakMb,
      routerRssEndMb,
      elapsedS,
    };
  }
}
