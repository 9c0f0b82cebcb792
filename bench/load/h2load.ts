import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readProc } from "../lib/proc-stats.js";
import { requestShape, type LoadJob, type LoadResult } from "./job.js";
import { encodeBatchPb, sampleBatch, newEventId } from "./payloads.js";
import { createTally } from "./tally.js";

/**
 * Runs a job with h2load (Debian's nghttp2-client): HTTP/1.1 for REST and
 * Connect JSON (`--h1`, one request in flight per connection), h2c for gRPC
 * (`concurrency` streams over `sessions` connections). h2load sends one body
 * file again and again with one set of headers, so the load speaks for the
 * job's first player with one batch; the gateway validates and queues it anew
 * each time. Its per-request log gives the statuses, latencies and timeline of
 * the measured window (h2load leaves the warm-up out of it).
 */
export async function runH2load(job: LoadJob, onWindowStart?: () => void): Promise<LoadResult> {
  const player = job.players[0];
  if (!player) throw new Error("load job without players");
  const dir = mkdtempSync(join(tmpdir(), "psbench-h2load-"));
  try {
    const batch = sampleBatch(player.userId, job.gameIds[0]!, job.batchSize, 0, Date.now(), () =>
      job.eventIds === "none" ? undefined : newEventId(job.eventIds),
    );
    const body = job.protocol === "grpc" ? grpcFrame(encodeBatchPb(batch)) : Buffer.from(JSON.stringify(batch));
    const bodyFile = join(dir, "body");
    const logFile = join(dir, "log");
    writeFileSync(bodyFile, body);
    const { path, headers } = requestShape(job.protocol);
    const grpc = job.protocol === "grpc";
    const clients = grpc ? Math.max(1, job.sessions ?? Math.min(8, job.concurrency)) : job.concurrency;
    const args = [
      ...(grpc ? [] : ["--h1"]),
      "-c", String(clients),
      "-m", String(grpc ? Math.max(1, Math.ceil(job.concurrency / clients)) : 1),
      "-t", "1",
      "--warm-up-time", `${Math.max(1, Math.round(job.warmupMs))}ms`,
      "-D", `${Math.max(1, Math.round(job.durationMs))}ms`,
      "-d", bodyFile,
      "--log-file", logFile,
      "-H", `authorization: Bearer ${player.accessToken}`,
      ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
      ...(job.ratePerSec ? ["--rps", String(Math.max(1, Math.round(job.ratePerSec / clients)))] : []),
      new URL(path, job.url).href,
    ];
    const { cpuMs } = await spawnH2load(args, job.warmupMs, onWindowStart);
    return readH2loadLog(job, readFileSync(logFile, "latin1"), { cpuMs, bodyBytes: body.length - (grpc ? 5 : 0) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A gRPC length-prefixed message: flag 0 (not compressed), 4-byte big-endian length. */
function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * Runs h2load. Its stdout is block-buffered into a pipe, so the window is
 * timed here: it opens `warmupMs` after the start (h2load's connections take
 * a few ms). CPU is read from /proc while it runs (its last reading before
 * exit), since a child's usage is not reported to node.
 */
function spawnH2load(args: string[], warmupMs: number, onWindowStart?: () => void): Promise<{ cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let atWindow: number | undefined;
    let last = 0;
    const read = () => (child.pid === undefined ? undefined : readProc(child.pid)?.cpuTicks);
    const sample = setInterval(() => (last = read() ?? last), 100);
    const window = setTimeout(() => {
      atWindow = read() ?? 0;
      onWindowStart?.();
    }, warmupMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", (err) => {
      clearInterval(sample);
      clearTimeout(window);
      reject(new Error(`h2load: ${err.message} (install Debian's nghttp2-client)`));
    });
    child.on("close", (code) => {
      clearInterval(sample);
      clearTimeout(window);
      if (code !== 0) return reject(new Error(`h2load exited with ${code}: ${output.slice(-800)}`));
      // Ticks are 10 ms (USER_HZ 100).
      resolve({ cpuMs: Math.max(0, last - (atWindow ?? last)) * 10 });
    });
  });
}

/** Turns h2load's per-request log (lines of start µs since the epoch, status, duration µs) into a result. */
export function readH2loadLog(job: LoadJob, log: string, extra: { cpuMs: number; bodyBytes: number }): LoadResult {
  const tally = createTally(job);
  const entries = log
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t").map(Number) as [start: number, status: number, duration: number]);
  // The log holds the measured window only: it opens with its first request.
  const windowStartUs = entries.reduce((min, [start]) => Math.min(min, start), Infinity);
  // h2load logs a request without an answer with status -1 or 0. Two kinds
  // are its own doing, not the server's: those it cut off when the window
  // closed (after the last answer it had), and those in flight when the
  // warm-up ended, which it logs as started in the window's first round trip
  // (up to 8 ms in seen logs), all ending at one instant, without the status
  // their answer had (the gateway's counter shows them answered). A request
  // started before the window's first answer came back is one of those.
  const answers = entries.filter(([, status]) => status > 0).map(([start, , duration]) => start + duration);
  const lastAnswerUs = answers.reduce((max, end) => Math.max(max, end), 0);
  const firstAnswerUs = answers.reduce((min, end) => Math.min(min, end), Infinity);
  for (const [start, status, duration] of entries) {
    if (status <= 0 && (start + duration >= lastAnswerUs - 10_000 || start < firstAnswerUs)) continue;
    // Timed by its end, kept inside the window: h2load logged it as measured.
    tally.record(Math.min((start + duration - windowStartUs) / 1000, job.durationMs - 1), status > 0 ? String(status) : "no-answer", duration);
  }
  return tally.result(extra);
}
