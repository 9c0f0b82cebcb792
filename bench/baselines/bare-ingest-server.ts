/**
 * The ingest baseline: what one Node process can do with no framework at all.
 * A bare node:http server that reads the body, JSON.parses it (so it at least
 * knows the user, game and event count, as any ingest must), appends the raw
 * body as one stream entry with the same fields the gateway writes, and
 * answers 202. No auth, no validation, no metrics: the ceiling the gateway is
 * compared with (`rest-200` events/s divided by this one's).
 *
 *   PORT=8090 REDIS_URL=redis://127.0.0.1:6379 STREAM_KEY=bench:bare \
 *     node --import tsx bench/baselines/bare-ingest-server.ts
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { Redis } from "ioredis";

const port = Number(process.env.PORT ?? 8090);
const key = process.env.STREAM_KEY ?? "bench:bare";
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { enableOfflineQueue: true, maxRetriesPerRequest: 1 });

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.method === "GET" && req.url === "/readyz") return answer(res, 200, { status: "ready" });
  if (req.method !== "POST") return answer(res, 404, { error: "NOT_FOUND" });
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    let body: { user_id?: unknown; game_id?: unknown; events?: unknown };
    try {
      body = JSON.parse(raw.toString("utf8")) as typeof body;
    } catch {
      return answer(res, 400, { error: "BAD_REQUEST" });
    }
    const batchId = randomUUID();
    const accepted = Array.isArray(body.events) ? body.events.length : 0;
    redis
      .xadd(key, "*", "v", "1", "b", batchId, "u", String(body.user_id), "g", String(body.game_id), "t", String(Date.now()), "f", "json", "d", raw)
      .then(
        () => answer(res, 202, { batch_id: batchId, accepted }),
        () => answer(res, 503, { error: "SERVICE_UNAVAILABLE" }),
      );
  });
});

server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  redis.disconnect();
  process.exit(0);
});
