import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createConnection, type RowDataPacket } from "mysql2/promise";
import { freePort } from "../../helpers/free-port.js";
import { registerPlayer, testAdminToken, testKeyId, testSigningKeyPem } from "../../helpers/start-app.js";
import { testMysqlUrl, testStreamPrefix } from "../../helpers/test-env.js";

const bin = fileURLToPath(new URL("../../../bin/playsmart.js", import.meta.url));

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  links?: Array<{ traceId: string; spanId: string }>;
}
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

/** A stand-in OpenTelemetry collector: keeps every OTLP/HTTP JSON export it is sent. */
async function startCollector(): Promise<{ server: Server; url: string; exports: OtlpExport[]; paths: string[] }> {
  const exports: OtlpExport[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      paths.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
      exports.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpExport);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, paths };
}

async function startServe(port: number, env: Record<string, string>): Promise<{ child: ChildProcess; out: () => string }> {
  let out = "";
  const child = spawn(process.execPath, [bin, "serve"], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      MYSQL_URL: testMysqlUrl("otlp"),
      STREAM_PREFIX: testStreamPrefix("otlp"),
      JWT_PRIVATE_KEY: testSigningKeyPem,
      JWT_KEY_ID: testKeyId,
      ADMIN_TOKEN: testAdminToken,
      WORKER_BLOCK_MS: "50",
      INGEST_RATE_PER_USER: "0",
      STREAM_SHARDS: "1",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('"msg":"listening"')) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`serve exited early with ${code}: ${out}`));
    });
  });
  return { child, out: () => out };
}

describe("tracing exported over OTLP/HTTP by a real `playsmart serve` (configured by OTEL_* only)", function () {
  this.timeout(40_000);

  it("exports request, append and drain commit spans of one trace to OTEL_EXPORTER_OTLP_ENDPOINT, and the last ones at SIGTERM", async () => {
    const collector = await startCollector();
    const port = await freePort();
    const { child, out } = await startServe(port, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: "playsmart-otlp-test",
      // A long export delay: the spans arrive only because shutdown flushes them.
      OTEL_BSP_SCHEDULE_DELAY: "60000",
    });
    try {
      assert.match(out(), /"msg":"tracing on \(OTLP\)"/);
      const url = `http://127.0.0.1:${port}`;
      const player = await registerPlayer(url);
      const traceId = randomBytes(16).toString("hex");
      const res = await fetch(`${url}/ingest/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json", traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
        body: JSON.stringify({ user_id: player.userId, game_id: "com.example.otlp", events: [{ type: "AppOpen", timestamp: "2026-12-03T10:00:00Z" }] }),
      });
      assert.equal(res.status, 202);
      // Once the worker committed the event, stop the process: its shutdown flushes.
      const db = await createConnection(testMysqlUrl("otlp"));
      try {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const [rows] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM events WHERE user_id = ?", [player.userId]);
          if (Number(rows[0]!.n) === 1) break;
          if (Date.now() > deadline) assert.fail("the event was not stored");
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await db.end();
      }
      assert.equal(collector.exports.length, 0, "nothing exported before the schedule delay or shutdown");
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      assert.equal(await exited, 0);

      assert.ok(collector.paths.length >= 1);
      for (const p of collector.paths) assert.equal(p, "POST /v1/traces application/json");
      const spans = collector.exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
      const resource = collector.exports[0]!.resourceSpans[0]!.resource.attributes;
      assert.equal(resource.find((a) => a.key === "service.name")?.value.stringValue, "playsmart-otlp-test");
      assert.equal(resource.find((a) => a.key === "playsmart.role")?.value.stringValue, "all");
      const request = spans.find((s) => s.traceId === traceId && s.name === "POST /ingest/events")!;
      assert.ok(request, `no request span among ${spans.map((s) => s.name).join(", ")}`);
      const append = spans.find((s) => s.traceId === traceId && s.parentSpanId === request.spanId)!;
      assert.ok(append, "no append span under the request");
      assert.match(append.name, /^send /);
      const commit = spans.find((s) => s.name === "drain commit" && s.links?.some((l) => l.spanId === append.spanId && l.traceId === traceId));
      assert.ok(commit, "no drain commit span linked to the append");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      collector.server.close();
    }
  });
});
