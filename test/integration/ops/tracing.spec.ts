import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { Redis } from "ioredis";
import { IngestService } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { startTracing, type Tracing } from "../../../src/tracing/start-tracing.js";
import { tracingActive } from "../../../src/tracing/tracer.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

/** A customdata value that must never reach a span. */
const secretValue = `customdata-secret-${randomBytes(4).toString("hex")}`;
const gameId = "com.example.traced";

function traceParent(sampled = true): { header: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { header: `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`, traceId, spanId };
}

const eventsJson = [
  { type: "LevelCompleted", timestamp: "2026-12-03T10:00:00Z", customdata: { level: 3, note: secretValue } },
  { type: "AppOpen", timestamp: "2026-12-03T10:00:01Z" },
];

/** Every string a span carries where a value could leak: name, attributes, link and event attributes, status. */
function stringsOf(span: ReadableSpan): string[] {
  const out = [span.name, span.status.message ?? ""];
  const add = (attrs: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(attrs)) out.push(k, JSON.stringify(v));
  };
  add(span.attributes);
  for (const l of span.links) add(l.attributes ?? {});
  for (const e of span.events) add(e.attributes ?? {});
  add(span.resource.attributes);
  return out;
}

describe("tracing across the stream (OpenTelemetry SDK, in-memory exporter, real run)", function () {
  this.timeout(40_000);
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let app: TestApp;
  let player: TestPlayer;

  before(async () => {
    tracing = startTracing({
      config: { enabled: true, serviceName: "playsmart-test", sampler: "parentbased_always_on", samplerRatio: 1 },
      role: "all",
      exporter,
    });
    app = await startTestApp({ name: "tracing", role: "all" });
    player = await registerPlayer(app.url);
  });
  after(async () => {
    await app?.close();
    await tracing?.shutdown();
  });

  /** Waits for the commit span that links to `append`, and returns it. */
  async function commitOf(append: ReadableSpan): Promise<ReadableSpan> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = exporter.getFinishedSpans().find((s) => s.name === "drain commit" && s.links.some((l) => l.context.spanId === append.spanContext().spanId));
      if (found) return found;
      if (Date.now() > deadline) assert.fail("no drain commit span links to the append");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until a span of `traceId` has ended with this name and kind. */
  async function spanOf(traceId: string, kind: SpanKind): Promise<ReadableSpan> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId && s.kind === kind);
      if (found.length > 1) assert.fail(`${found.length} spans of kind ${SpanKind[kind]} in one trace`);
      if (found[0]) return found[0];
      if (Date.now() > deadline) assert.fail(`no ${SpanKind[kind]} span in trace ${traceId}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const connect = (make: (baseUrl: string) => Transport) => (tp: string) =>
    createClient(IngestService, make(app.url)).ingestEvents(
      { userId: player.userId, gameId, events: eventsJson.map((e) => ({ type: e.type, timestamp: e.timestamp, ...(e.customdata ? { customdata: e.customdata } : {}) })) },
      { headers: { authorization: `Bearer ${player.accessToken}`, traceparent: tp } },
    ).then((r) => r.batchId);

  const cases: Array<{ name: string; spanName: string; send: (traceparent: string) => Promise<string> }> = [
    {
      name: "REST (fetch, HTTP/1.1 JSON)",
      spanName: "POST /ingest/events",
      async send(tp) {
        const res = await fetch(`${app.url}/ingest/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json", traceparent: tp },
          body: JSON.stringify({ user_id: player.userId, game_id: gameId, events: eventsJson }),
        });
        assert.equal(res.status, 202);
        return ((await res.json()) as { batch_id: string }).batch_id;
      },
    },
    {
      name: "gRPC (@grpc/grpc-js, traceparent in metadata)",
      spanName: "playsmart.ingest.v1.IngestService/IngestEvents",
      async send(tp) {
        const ingest = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
        try {
          const res = await ingest.call<{ batch_id: string }>(
            "IngestEvents",
            { user_id: player.userId, game_id: gameId, events: eventsJson.map((e) => ({ type: e.type, timestamp: e.timestamp })) },
            { authorization: `Bearer ${player.accessToken}`, metadata: { traceparent: tp } },
          );
          return res.batch_id;
        } finally {
          ingest.close();
        }
      },
    },
    {
      name: "Connect JSON (generated client)",
      spanName: "playsmart.ingest.v1.IngestService/IngestEvents",
      send: connect((baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })),
    },
    {
      name: "Connect binary (generated client)",
      spanName: "playsmart.ingest.v1.IngestService/IngestEvents",
      send: connect((baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })),
    },
    {
      name: "gRPC-Web (generated client)",
      spanName: "playsmart.ingest.v1.IngestService/IngestEvents",
      send: connect((baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: request (child of the caller's traceparent) -> append (child) -> drain commit (linked), with ids and counts`, async () => {
      const caller = traceParent();
      const batchId = await c.send(caller.header);

      const request = await spanOf(caller.traceId, SpanKind.SERVER);
      assert.equal(request.name, c.spanName);
      assert.equal(request.parentSpanContext?.spanId, caller.spanId, "the request span's parent is the caller's span");
      assert.equal(request.attributes["http.request.method"], "POST");
      assert.equal(request.attributes["http.response.status_code"], c.name.startsWith("REST") ? 202 : 200);

      const append = await spanOf(caller.traceId, SpanKind.PRODUCER);
      assert.equal(append.parentSpanContext?.spanId, request.spanContext().spanId, "the append is a child of the request");
      assert.equal(append.attributes["playsmart.batch_id"], batchId);
      assert.equal(append.attributes["playsmart.event_count"], 2);
      assert.equal(append.attributes["playsmart.shard"], 0);
      assert.equal(append.attributes["messaging.destination.name"], streamKey(app.config.streamPrefix, 0));
      assert.match(String(append.attributes["messaging.message.id"]), /^\d+-\d+$/);

      const commit = await commitOf(append);
      assert.equal(commit.kind, SpanKind.CONSUMER);
      assert.equal(commit.parentSpanContext, undefined, "a commit is a root span: it covers many requests' batches");
      const link = commit.links.find((l) => l.context.spanId === append.spanContext().spanId)!;
      assert.equal(link.context.traceId, caller.traceId);
      assert.deepEqual(link.attributes, {
        "playsmart.batch_id": batchId,
        "playsmart.event_count": 2,
        "playsmart.shard": 0,
        "messaging.message.id": append.attributes["messaging.message.id"],
      });
      assert.equal(commit.attributes["playsmart.outcome"], "committed");
      assert.deepEqual(commit.attributes["playsmart.shard"], [0]);
      assert.ok(Number(commit.attributes["playsmart.event_count"]) >= 2);
      assert.equal(commit.attributes["playsmart.batch_count"], commit.links.length);
      assert.ok(commit.endTime[0] * 1e9 + commit.endTime[1] >= append.endTime[0] * 1e9 + append.endTime[1]);
    });
  }

  it("a request without traceparent starts a trace of its own; an unsampled caller gets no spans and its batch no link", async () => {
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: player.userId, game_id: gameId, events: eventsJson }),
    });
    assert.equal(res.status, 202);
    const { batch_id: batchId } = (await res.json()) as { batch_id: string };
    const deadline = Date.now() + 5000;
    let append: ReadableSpan | undefined;
    while (!append && Date.now() < deadline) {
      append = exporter.getFinishedSpans().find((s) => s.attributes["playsmart.batch_id"] === batchId);
      if (!append) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(append, "the append span of the batch");
    const request = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === append.parentSpanContext?.spanId)!;
    assert.equal(request.kind, SpanKind.SERVER);
    assert.equal(request.parentSpanContext, undefined, "a root span: nobody sent a traceparent");
    await commitOf(append);

    const unsampled = traceParent(false);
    const res2 = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json", traceparent: unsampled.header },
      body: JSON.stringify({ user_id: player.userId, game_id: gameId, events: eventsJson }),
    });
    assert.equal(res2.status, 202);
    const { batch_id: quietBatch } = (await res2.json()) as { batch_id: string };
    // Wait for its commit (any commit after it), then look for traces of it.
    const settled = Date.now() + 10_000;
    for (;;) {
      const [rows] = await app.pool.query("SELECT COUNT(*) AS n FROM events WHERE batch_id = ?", [quietBatch]);
      if (Number((rows as Array<{ n: unknown }>)[0]!.n) === 2) break;
      if (Date.now() > settled) assert.fail("the unsampled batch was not stored");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100));
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.filter((s) => s.spanContext().traceId === unsampled.traceId).length, 0);
    assert.equal(spans.filter((s) => s.attributes["playsmart.batch_id"] === quietBatch).length, 0);
    assert.equal(spans.filter((s) => s.links.some((l) => l.context.traceId === unsampled.traceId)).length, 0);
  });

  it("a refused request's span says so, and no append span is made for it", async () => {
    const caller = traceParent();
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json", traceparent: caller.header },
      body: JSON.stringify({ user_id: player.userId, game_id: gameId, events: [{ type: "NoSuchType", timestamp: "2026-12-03T10:00:00Z" }] }),
    });
    assert.equal(res.status, 400);
    const request = await spanOf(caller.traceId, SpanKind.SERVER);
    assert.equal(request.attributes["http.response.status_code"], 400);
    assert.equal(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === caller.traceId).length, 1);
  });

  it("no span holds a token, a password, an email or a customdata value", async () => {
    // Auth calls made spans too: login with the password, a refresh, an admin call.
    const login = await fetch(`${app.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: traceParent().header },
      body: JSON.stringify({ email: player.email, password: player.password }),
    });
    assert.equal(login.status, 200);
    const admin = await fetch(`${app.url}/playsmart.games.v1.GameService/ListGames`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${testAdminToken}` },
      body: "{}",
    });
    assert.equal(admin.status, 200);
    const spans = exporter.getFinishedSpans();
    assert.ok(spans.length >= 20, `${spans.length} spans`);
    const secrets = [player.accessToken, player.refreshToken, player.password, player.email, testAdminToken, secretValue];
    for (const span of spans) {
      const text = stringsOf(span).join("\n");
      for (const secret of secrets) assert.ok(!text.includes(secret), `span "${span.name}" holds a secret`);
    }
  });
});

describe("tracing and the stream entry (gateway only, entry read back from Redis)", function () {
  this.timeout(30_000);
  const exporter = new InMemorySpanExporter();
  let app: TestApp;
  let player: TestPlayer;
  let redis: Redis;

  before(async () => {
    app = await startTestApp({ name: "tracing_gw", role: "gateway" });
    player = await registerPlayer(app.url);
    redis = new Redis(redisUrl);
  });
  after(async () => {
    redis?.disconnect();
    await app?.close();
  });

  async function ingestAndReadEntry(tp?: string): Promise<Map<string, string>> {
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json", ...(tp ? { traceparent: tp } : {}) },
      body: JSON.stringify({ user_id: player.userId, game_id: gameId, events: eventsJson }),
    });
    assert.equal(res.status, 202);
    const entries = await redis.xrevrange(streamKey(app.config.streamPrefix, 0), "+", "-", "COUNT", 1);
    const fields = entries[0]![1];
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
    return map;
  }

  it("carries the append span's traceparent (field p) only when sampled, and nothing with tracing off", async () => {
    const tracing = startTracing({
      config: { enabled: true, serviceName: "playsmart-test", sampler: "parentbased_always_on", samplerRatio: 1 },
      role: "gateway",
      exporter,
    });
    try {
      const caller = traceParent();
      const sampled = await ingestAndReadEntry(caller.header);
      const append = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER && s.spanContext().traceId === caller.traceId)!;
      assert.equal(sampled.get("p"), `00-${caller.traceId}-${append.spanContext().spanId}-01`);
      const unsampled = await ingestAndReadEntry(traceParent(false).header);
      assert.equal(unsampled.has("p"), false);
    } finally {
      await tracing.shutdown();
    }
    // After shutdown the switch is off: no span is started at all (the exporter, shut down, would show nothing anyway).
    assert.equal(tracingActive(), false);
    const off = await ingestAndReadEntry(traceParent().header);
    assert.equal(off.has("p"), false, "tracing off: no trace context in the entry");
    assert.deepEqual([...off.keys()].sort(), ["b", "d", "f", "g", "t", "u", "v"]);
  });
});
