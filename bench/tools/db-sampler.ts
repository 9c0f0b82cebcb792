/**
 * Where MariaDB spends a drain, sampled from outside while a bench runs:
 *
 * - every second, `SHOW GLOBAL STATUS` counters (fsyncs, redo, log waits,
 *   flushing, row locks, handler calls), the machine's CPU split from
 *   /proc/stat (iowait and hypervisor steal included) and the disk's counters
 *   from /proc/diskstats (writes, flushes and the time they took);
 * - every 50 ms, the state of each mariadbd thread and of every node process
 *   given with --pids (or found by --node-match): on CPU, waiting in futex (a
 *   latch, mutex or condition: InnoDB's waits all end there), waiting on a
 *   socket (for the client, i.e. the worker), in I/O, or elsewhere, from
 *   /proc/<pid>/task/<tid>/{stat,syscall}. A poor man's off-CPU profile: it
 *   tells "the server waits for a latch" from "the server waits for us".
 *
 * Phases are found from the rate of rows written (`Handler_write`) (a stretch of seconds above
 * --min-rows-per-s), and each phase gets one summary: counters per second and
 * per 1,000 rows, and the thread-state shares of the busy connection threads.
 * Run it under the bench in another shell, then stop it (Ctrl-C or SIGTERM):
 *
 *   node --import tsx bench/tools/db-sampler.ts [--out file.jsonl] [--node-match drain] [--seconds N]
 *   node --import tsx bench/tools/db-sampler.ts --from file.jsonl     (summarize a saved run)
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createConnection, type RowDataPacket } from "mysql2/promise";

const args = new Map<string, string>();
for (let i = 2; i + 1 < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const out = args.get("out");
const seconds = Number(args.get("seconds") ?? 0);
const minRowsPerSec = Number(args.get("min-rows-per-s") ?? 2000);
const nodeMatch = args.get("node-match") ?? "role worker|raw-drain";
const disk = args.get("disk") ?? "vda";
const mysqlUrl = process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

// Counters (deltas are meaningful) and gauges (the value is).
const counters = [
  "Handler_write", "Innodb_data_fsyncs", "Innodb_os_log_fsyncs", "Innodb_os_log_written", "Innodb_log_waits",
  "Innodb_log_write_requests", "Innodb_log_writes", "Innodb_buffer_pool_wait_free", "Innodb_buffer_pool_pages_flushed",
  "Innodb_row_lock_waits", "Innodb_row_lock_time", "Innodb_data_written", "Innodb_data_writes", "Innodb_dblwr_pages_written",
  "Innodb_deadlocks", "Com_commit", "Com_stmt_execute", "Com_insert", "Handler_write", "Handler_commit",
  "Handler_update", "Handler_read_key", "Table_locks_waited", "Innodb_buffer_pool_read_requests", "Innodb_buffer_pool_reads",
  "Innodb_buffer_pool_write_requests", "Innodb_log_writes", "Innodb_data_pending_fsyncs",
];
const gauges = ["Innodb_buffer_pool_pages_dirty", "Innodb_checkpoint_age", "Innodb_history_list_length", "Threads_running"];

type ThreadState = "cpu" | "futex" | "socket" | "io" | "idle-other";

interface Second {
  t: number;
  status: Record<string, number>;
  cpu: number[];
  disk: number[];
  /** Thread-state tallies since the previous second: group -> state -> samples. */
  states: Record<string, Record<ThreadState, number>>;
  /** Per thread, cumulative ns on CPU and ns runnable but waiting for a CPU (/proc/.../schedstat). */
  sched?: Record<string, [number, number]>;
  /** mariadbd's cumulative minor and major page faults (/proc/<pid>/stat). */
  faults?: [number, number];
}

function readFaults(): [number, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${mysqldPid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the comm: state(0) ppid pgrp session tty tpgid flags minflt(7) cminflt majflt(9)
    return [Number(f[7]), Number(f[9])];
  } catch {
    return undefined;
  }
}

function readSched(): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  const read = (id: string, dir: string) => {
    try {
      const [run, wait] = readFileSync(`${dir}/schedstat`, "utf8").split(" ").map(Number);
      out[id] = [run!, wait!];
    } catch {
      // gone
    }
  };
  try {
    for (const tid of readdirSync(`/proc/${mysqldPid}/task`)) read(`mysql:${tid}`, `/proc/${mysqldPid}/task/${tid}`);
  } catch {
    // mariadbd restarted
  }
  for (const pid of nodePids) read(`node:${pid}`, `/proc/${pid}/task/${pid}`);
  return out;
}

function readCpu(): number[] {
  // user nice system idle iowait irq softirq steal
  return readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
}

function readDisk(): number[] {
  const line = readFileSync("/proc/diskstats", "utf8").split("\n").find((l) => l.trim().split(/\s+/)[2] === disk);
  // reads, rd merged, rd sectors, rd ms, writes, wr merged, wr sectors, wr ms, inflight, io ms, weighted ms,
  // discards x4, flushes, flush ms
  return line ? line.trim().split(/\s+/).slice(3).map(Number) : [];
}

function pidsOf(pattern: RegExp): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ");
      if (pattern.test(cmd)) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

// Syscall numbers of x86_64 that tell what a sleeping thread waits for.
const futexCalls = new Set([202]);
const socketCalls = new Set([0, 45, 47, 7, 232, 281, 23, 270]); // read, recvfrom, recvmsg, poll, epoll_wait, epoll_pwait, select, pselect6
const ioCalls = new Set([74, 75, 17, 18, 295, 296, 426, 208, 209]); // fsync, fdatasync, pread, pwrite, preadv, pwritev, io_uring_enter, io_getevents, io_submit

function stateOf(taskDir: string): ThreadState | undefined {
  try {
    const stat = readFileSync(`${taskDir}/stat`, "utf8");
    const s = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (s === "R") return "cpu";
    if (s === "D") return "io";
    const sc = Number(readFileSync(`${taskDir}/syscall`, "utf8").split(" ")[0]);
    if (futexCalls.has(sc)) return "futex";
    if (socketCalls.has(sc)) return "socket";
    if (ioCalls.has(sc)) return "io";
    return "idle-other";
  } catch {
    return undefined;
  }
}

const mysqldPid = Number(execFileSync("pidof", ["mariadbd"]).toString().trim().split(/\s+/)[0]);
let nodePids: number[] = [];
let nodePidsAt = 0;
let tallies: Record<string, Record<ThreadState, number>> = {};
// Per thread (`mysql:<tid>`, `node:<pid>`); the summary keeps the active ones.
function tally(group: string, state: ThreadState): void {
  const g = (tallies[group] ??= { cpu: 0, futex: 0, socket: 0, io: 0, "idle-other": 0 });
  g[state]++;
}

function sampleThreads(): void {
  const now = Date.now();
  if (now - nodePidsAt > 1000) {
    nodePids = pidsOf(new RegExp(nodeMatch));
    nodePidsAt = now;
  }
  try {
    for (const tid of readdirSync(`/proc/${mysqldPid}/task`)) {
      const st = stateOf(`/proc/${mysqldPid}/task/${tid}`);
      if (st !== undefined) tally(`mysql:${tid}`, st);
    }
  } catch {
    // mariadbd restarted
  }
  // Only main threads (tid = pid): libuv threads idle in futex all the time.
  for (const pid of nodePids) {
    const st = stateOf(`/proc/${pid}/task/${pid}`);
    if (st !== undefined) tally(`node:${pid}`, st);
  }
}

async function main(): Promise<void> {
  const from = args.get("from");
  if (from !== undefined) {
    summarize(readFileSync(from, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Second));
    return;
  }
  const conn = await createConnection({ uri: mysqlUrl });
  const secondsOut: Second[] = [];
  const readStatus = async (): Promise<Record<string, number>> => {
    const [rows] = await conn.query<RowDataPacket[]>("SHOW GLOBAL STATUS");
    const m: Record<string, number> = {};
    const want = new Set([...counters, ...gauges]);
    for (const r of rows) if (want.has(String(r.Variable_name))) m[String(r.Variable_name)] = Number(r.Value);
    return m;
  };
  const fast = setInterval(sampleThreads, 50);
  let stop = false;
  process.on("SIGINT", () => (stop = true));
  process.on("SIGTERM", () => (stop = true));
  const started = Date.now();
  while (!stop && (seconds === 0 || Date.now() - started < seconds * 1000)) {
    const t = Date.now();
    secondsOut.push({ t, status: await readStatus(), cpu: readCpu(), disk: readDisk(), states: tallies, sched: readSched(), faults: readFaults() });
    tallies = {};
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
  }
  clearInterval(fast);
  await conn.end();
  if (out) writeFileSync(out, secondsOut.map((s) => JSON.stringify(s)).join("\n") + "\n");
  summarize(secondsOut);
}

/** Prints one summary per stretch of seconds with inserts going on. */
function summarize(samples: Second[]): void {
  const phases: Array<[number, number]> = [];
  let from = -1;
  for (let i = 1; i < samples.length; i++) {
    const rate = samples[i]!.status.Handler_write! - samples[i - 1]!.status.Handler_write!;
    if (rate >= minRowsPerSec && from < 0) from = i - 1;
    if ((rate < minRowsPerSec || i === samples.length - 1) && from >= 0) {
      if (i - from >= 3) phases.push([from, i - 1]);
      from = -1;
    }
  }
  for (const [a, b] of phases) {
    const s0 = samples[a]!;
    const s1 = samples[b]!;
    const secs = (s1.t - s0.t) / 1000;
    const rows = s1.status.Handler_write! - s0.status.Handler_write!;
    process.stdout.write(`\nphase ${new Date(s0.t).toISOString()} ${secs.toFixed(0)} s, ${Math.round(rows / secs).toLocaleString("en-US")} rows/s\n`);
    for (const k of counters) {
      const d = s1.status[k]! - s0.status[k]!;
      if (d !== 0) process.stdout.write(`  ${k.padEnd(36)} ${(d / secs).toFixed(1).padStart(14)}/s ${((d / rows) * 1000).toFixed(2).padStart(12)}/1k rows\n`);
    }
    for (const k of gauges) {
      const vals = samples.slice(a, b + 1).map((s) => s.status[k]!);
      process.stdout.write(`  ${k.padEnd(36)} max ${Math.max(...vals)} last ${vals.at(-1)}\n`);
    }
    const cpu = s1.cpu.map((v, i) => v - s0.cpu[i]!);
    const ticks = cpu.reduce((x, y) => x + y, 0);
    const names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];
    process.stdout.write(`  machine CPU: ${names.map((n, i) => `${n} ${((cpu[i]! / ticks) * 200).toFixed(0)}%`).join(", ")} (of 200%)\n`);
    if (s0.faults && s1.faults) {
      // Minor faults of the server: first touches of buffer-pool memory (fresh,
      // or handed back to the kernel and touched again) cost kernel CPU.
      process.stdout.write(`  mariadbd page faults: ${((s1.faults[0] - s0.faults[0]) / secs).toFixed(0)} minor/s, ${((s1.faults[1] - s0.faults[1]) / secs).toFixed(0)} major/s\n`);
    }
    const dd = s1.disk.map((v, i) => v - s0.disk[i]!);
    if (dd.length >= 11) {
      process.stdout.write(
        `  disk: ${(dd[4]! / secs).toFixed(0)} writes/s, ${((dd[6]! * 512) / secs / 1e6).toFixed(1)} MB/s written, ` +
          `${dd[4]! > 0 ? (dd[7]! / dd[4]!).toFixed(2) : "-"} ms/write, busy ${((dd[9]! / (secs * 1000)) * 100).toFixed(0)}%` +
          (dd.length >= 17 ? `, ${(dd[15]! / secs).toFixed(1)} flushes/s at ${dd[15]! > 0 ? (dd[16]! / dd[15]!).toFixed(2) : "-"} ms` : "") +
          "\n",
      );
    }
    // Per thread, then the threads that were on CPU at least 5% of the phase
    // (idle pool connections and sleeping background threads left out).
    const perThread: Record<string, Record<string, number>> = {};
    for (const s of samples.slice(a + 1, b + 1)) {
      for (const [g, st] of Object.entries(s.states)) for (const [k, n] of Object.entries(st)) ((perThread[g] ??= {})[k] = (perThread[g]![k] ?? 0) + n);
    }
    const groups: Record<string, { threads: number; st: Record<string, number>; n: number }> = {};
    for (const [id, st] of Object.entries(perThread)) {
      const n = Object.values(st).reduce((x, y) => x + y, 0);
      if ((st.cpu ?? 0) / n < 0.05) continue;
      const g = (groups[id.split(":")[0]!] ??= { threads: 0, st: {}, n: 0 });
      g.threads++;
      g.n += n;
      for (const [k, v] of Object.entries(st)) g.st[k] = (g.st[k] ?? 0) + v;
    }
    for (const [g, { threads, st, n }] of Object.entries(groups)) {
      process.stdout.write(`  ${g.padEnd(6)} ${threads} active threads, share of their time: ${Object.entries(st).map(([k, v]) => `${k} ${((v / n) * 100).toFixed(0)}%`).join(", ")}\n`);
    }
    // Exact on-CPU and run-queue time of the same busy threads: "cpu" above
    // counts a runnable thread that waits for a core as on CPU.
    if (s0.sched && s1.sched) {
      const sums: Record<string, { threads: number; run: number; wait: number }> = {};
      for (const [id, [run1, wait1]] of Object.entries(s1.sched)) {
        const before = s0.sched[id];
        if (!before) continue;
        const run = (run1 - before[0]) / 1e9 / secs;
        const wait = (wait1 - before[1]) / 1e9 / secs;
        if (run < 0.05) continue;
        const g = (sums[id.split(":")[0]!] ??= { threads: 0, run: 0, wait: 0 });
        g.threads++;
        g.run += run;
        g.wait += wait;
      }
      for (const [g, { threads, run, wait }] of Object.entries(sums)) {
        process.stdout.write(`  ${g.padEnd(6)} ${threads} busy threads: on CPU ${(run * 100).toFixed(0)}%, waiting for a CPU ${(wait * 100).toFixed(0)}% (sum over the threads, of one core)\n`);
      }
    }
  }
}

await main();
