import autocannon from "autocannon";
import { requestShape, successLabel, type LoadJob, type LoadResult } from "./job.js";
import { idPlaceholder, placeholderOffsets, sampleBatch, writeEventIds } from "./payloads.js";
import { createTally } from "./tally.js";

interface Template {
  body: Buffer;
  idOffsets: number[];
  headers: Record<string, string>;
}

/**
 * Runs a job with autocannon over HTTP/1.1, every request a new batch: the
 * players take turns, and each body is a copy of its player's template with
 * fresh event ids written in place (so the worker stores every event). With a
 * rate, autocannon spreads it over the connections and each sends its share
 * of a second, then waits for the next: a slow server lowers what is sent in
 * the window, counted in `late`.
 */
export async function runAutocannon(job: LoadJob, onWindowStart?: () => void): Promise<LoadResult> {
  if (job.protocol === "grpc") throw new Error("autocannon speaks HTTP/1.1: fresh-event loads are REST or Connect JSON");
  if (job.players.length === 0) throw new Error("load job without players");
  const { path, headers } = requestShape(job.protocol);
  const now = Date.now();
  const templates = job.players.map((p, i): Template => {
    const batch = sampleBatch(p.userId, job.gameIds[i % job.gameIds.length]!, job.batchSize, i, now, () =>
      job.eventIds === "none" ? undefined : idPlaceholder,
    );
    const body = Buffer.from(JSON.stringify(batch));
    return { body, idOffsets: placeholderOffsets(body), headers: { ...headers, authorization: `Bearer ${p.accessToken}` } };
  });
  const success = successLabel(job.protocol);
  const tally = createTally(job);
  let okTotal = 0;
  let next = 0;
  let refusedWithoutRetryAfter = 0;

  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  let cpuAtStart = process.cpuUsage();
  let cpuAtEnd: NodeJS.CpuUsage | undefined;
  const startTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    onWindowStart?.();
  }, job.warmupMs);
  const endTimer = setTimeout(() => (cpuAtEnd = process.cpuUsage()), job.warmupMs + job.durationMs);

  let finished!: (r: { err: unknown; result?: autocannon.Result }) => void;
  const done = new Promise<{ err: unknown; result?: autocannon.Result }>((resolve) => (finished = resolve));
  // A paced run sends its requests by count, not time: autocannon then waits
  // for every answer, where a timed run drops the ones in flight at the end,
  // and the bench compares what was accepted with what the worker stored.
  const amount = job.ratePerSec ? Math.max(1, Math.round((job.ratePerSec * (job.warmupMs + job.durationMs)) / 1000)) : 0;
  const instance = autocannon({
    url: job.url,
    connections: amount ? Math.min(job.concurrency, amount) : job.concurrency,
    ...(amount ? { amount, overallRate: Math.max(1, Math.round(job.ratePerSec!)) } : { duration: (job.warmupMs + job.durationMs) / 1000 }),
    timeout: 30,
    requests: [
      {
        method: "POST",
        path,
        setupRequest: (req) => {
          const t = templates[next++ % templates.length]!;
          const body = Buffer.allocUnsafe(t.body.length);
          t.body.copy(body);
          writeEventIds(body, t.idOffsets, job.eventIds);
          return { ...req, headers: t.headers, body };
        },
        // Called just before the "response" event of the same answer.
        onResponse: (status, _body, _context, resHeaders) => {
          if ((status === 429 || status === 503) && !resHeaders?.["retry-after"]) refusedWithoutRetryAfter++;
        },
      },
    ],
  }, (err, result) => finished({ err, result }));
  instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
    const at = performance.now();
    let label = String(statusCode);
    // A refusal without Retry-After breaks the contract: count it apart.
    if ((statusCode === 429 || statusCode === 503) && refusedWithoutRetryAfter > 0) {
      refusedWithoutRetryAfter--;
      label += "-no-retry-after";
    }
    if (label === success) okTotal++;
    tally.record(at - measureFrom, label, responseTimeMs * 1000);
  });
  const { err, result: summary } = await done;
  if (err || !summary) throw err instanceof Error ? err : new Error(`autocannon failed: ${String(err)}`);
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  const cpuEnd = cpuAtEnd ?? process.cpuUsage();
  tally.add("errors", summary.errors - summary.timeouts);
  tally.add("timeout", summary.timeouts);
  return tally.result({
    cpuMs: (cpuEnd.user - cpuAtStart.user + cpuEnd.system - cpuAtStart.system) / 1000,
    bodyBytes: templates[0]!.body.length,
    okTotal,
  });
}
