import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, nearly always 100). */
const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** One reading of a process. */
export interface ProcReading {
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Resident set now (VmRSS), KiB. */
  rssKb: number;
  /** Peak resident set since the process started (VmHWM), KiB. */
  hwmKb: number;
}

/** Reads /proc/<pid>/stat and /status; undefined when the process is gone or unreadable. */
export function readProc(pid: number): ProcReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The command name (field 2) may hold spaces; fields after its closing paren are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    const status = readFileSync(`/proc/${pid}/status`, "latin1");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { cpuTicks, rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/**
 * `pid` and every process below it (from /proc/<pid>/task/<tid>/children): the
 * load process runs h2load as its child, whose CPU is the load's.
 */
export function withDescendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${tid}/children`, "latin1").trim();
        if (children) out.push(...children.split(" ").map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Busy ticks of the whole machine (all cores), from /proc/stat: everything but idle and iowait. */
function machineBusyTicks(): number {
  try {
    const line = readFileSync("/proc/stat", "latin1").split("\n", 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  } catch {
    return 0;
  }
}

/** CPU and memory of one group of processes over a watched interval. */
export interface GroupUsage {
  /** CPU time over wall time, in % of one core (200% = both cores of this machine). */
  cpuPct: number;
  /** Highest VmRSS sampled in the interval (largest single process), MiB. */
  peakRssMb: number;
  /** Highest VmHWM at the end (lifetime peak of the largest process), MiB. */
  hwmMb: number;
}

/**
 * Watches groups of processes (the service, Redis, MariaDB, ...): CPU ticks at
 * start and stop, VmRSS sampled every `everyMs` for the peak. A group given as
 * a function is looked up again at each sample, so a process started during
 * the window (h2load, a child of the load process) counts from its start, and
 * one that exits before `stop` counts up to its last sample.
 */
export class ProcWatch {
  private readonly startTicks = new Map<number, number>();
  private readonly lastTicks = new Map<number, number>();
  private readonly peakRss = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private machineStart = 0;

  private groups: Record<string, readonly number[]> = {};

  /** `groups`: pids, or a function giving them when the watch starts (for processes started since). */
  constructor(private readonly groupsAtStart: Record<string, readonly number[] | (() => number[])>) {}

  /** Takes the first reading and starts sampling. */
  start(everyMs = 200): this {
    this.groups = this.resolve();
    this.startedAt = performance.now();
    this.machineStart = machineBusyTicks();
    for (const pid of this.pids()) {
      const r = readProc(pid);
      if (r) {
        this.startTicks.set(pid, r.cpuTicks);
        this.lastTicks.set(pid, r.cpuTicks);
        this.peakRss.set(pid, r.rssKb);
      }
    }
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    return this;
  }

  /** The current RSS of every process of `group`, summed, MiB (for timelines). */
  rssMb(group: string): number {
    let kb = 0;
    const groups = this.startedAt === 0 ? this.resolve() : this.groups;
    for (const pid of groups[group] ?? []) kb += readProc(pid)?.rssKb ?? 0;
    return Math.round(kb / 1024);
  }

  /**
   * Stops sampling and returns each group's usage over the interval, plus
   * `machine`: the CPU of every process on the machine (ours and anyone else's).
   */
  stop(): Record<string, GroupUsage> {
    clearInterval(this.timer);
    this.sample();
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out: Record<string, GroupUsage> = {
      machine: {
        cpuPct: Math.round(((machineBusyTicks() - this.machineStart) / clockTicks / Math.max(seconds, 1e-3)) * 1000) / 10,
        peakRssMb: 0,
        hwmMb: 0,
      },
    };
    for (const [group, pids] of Object.entries(this.groups)) {
      let ticks = 0;
      let peak = 0;
      let hwm = 0;
      for (const pid of pids) {
        const r = readProc(pid);
        const first = this.startTicks.get(pid);
        const last = r?.cpuTicks ?? this.lastTicks.get(pid);
        if (last !== undefined && first !== undefined) ticks += last - first;
        peak = Math.max(peak, this.peakRss.get(pid) ?? 0);
        hwm = Math.max(hwm, r?.hwmKb ?? 0);
      }
      out[group] = {
        cpuPct: Math.round((ticks / clockTicks / Math.max(seconds, 1e-3)) * 1000) / 10,
        peakRssMb: Math.round(peak / 1024),
        hwmMb: Math.round(hwm / 1024),
      };
    }
    return out;
  }

  private resolve(): Record<string, readonly number[]> {
    return Object.fromEntries(Object.entries(this.groupsAtStart).map(([g, pids]) => [g, typeof pids === "function" ? pids() : pids]));
  }

  private pids(): number[] {
    return Object.values(this.groups).flat();
  }

  private sample(): void {
    // Processes started since the last sample, from a start after the window's.
    for (const [group, pids] of Object.entries(this.groupsAtStart)) {
      if (typeof pids !== "function") continue;
      const known = new Set(this.groups[group]);
      const fresh = pids().filter((pid) => !known.has(pid));
      if (fresh.length === 0) continue;
      this.groups[group] = [...(this.groups[group] ?? []), ...fresh];
      for (const pid of fresh) this.startTicks.set(pid, 0);
    }
    for (const pid of this.pids()) {
      const r = readProc(pid);
      if (r === undefined) continue;
      this.lastTicks.set(pid, r.cpuTicks);
      if (r.rssKb > (this.peakRss.get(pid) ?? 0)) this.peakRss.set(pid, r.rssKb);
    }
  }
}
