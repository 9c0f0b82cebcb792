import assert from "node:assert/strict";
import { parsePrometheusText, sampleValue, type Sample } from "../../helpers/prometheus-text.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";

const ts = "2026-11-26T09:15:00Z";

describe("GET /metrics", () => {
  let app: TestApp;
  let alice: TestPlayer;

  before(async () => {
    app = await startTestApp({ name: "metrics" });
    alice = await registerPlayer(app.url);
  });
  after(() => app.close());

  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`${app.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  };
  const ingest = (events: unknown[]) =>
    fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: alice.userId, game_id: "com.example.mygame", events }),
    });

  it("parses as Prometheus text and includes Node's process metrics", async () => {
    const samples = await scrape();
    assert.ok(sampleValue(samples, "playsmart_process_resident_memory_bytes") > 0);
    assert.ok(samples.some((s) => s.name === "playsmart_nodejs_eventloop_lag_seconds"));
    assert.ok(samples.some((s) => s.name === "playsmart_stream_length"));
  });

  it("moves the request, ingest and stream counters by the exact load sent", async () => {
    const before = await scrape();
    const five = Array.from({ length: 5 }, () => ({ type: "AppOpen", timestamp: ts }));
    for (let i = 0; i < 3; i++) assert.equal((await ingest(five)).status, 202);
    assert.equal((await ingest([{ type: "AppOpen", timestamp: ts }, { type: "Bad", timestamp: ts }])).status, 400);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);

    assert.equal(delta("playsmart_requests_total", { route: "/ingest/events", protocol: "rest", status: "202", code: "" }), 3);
    assert.equal(delta("playsmart_requests_total", { route: "/ingest/events", protocol: "rest", status: "400", code: "" }), 1);
    assert.equal(delta("playsmart_ingest_batches_total", { outcome: "accepted" }), 3);
    assert.equal(delta("playsmart_ingest_events_total", { outcome: "accepted" }), 15);
    assert.equal(delta("playsmart_ingest_batches_total", { outcome: "invalid" }), 1);
    assert.equal(delta("playsmart_ingest_events_total", { outcome: "invalid" }), 2);
    assert.equal(delta("playsmart_ingest_batch_size_count"), 3);
    assert.equal(delta("playsmart_ingest_batch_size_sum"), 15);
    assert.equal(delta("playsmart_stream_append_duration_seconds_count"), 3);
    // Nobody drains this stream (gateway role): the entries are all still there.
    assert.equal(delta("playsmart_stream_length", { shard: "0" }), 3);
  });
});
