import assert from "node:assert/strict";
import { createDynamicClient } from "../../helpers/grpc-client.js";
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

  it("counts gRPC batches the same way, on the one-pass path and off it", async () => {
    const bob = await registerPlayer(app.url);
    const client = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    try {
      const before = await scrape();
      const call = (userId: string, events: unknown[]) =>
        client.call("IngestEvents", { user_id: userId, game_id: "com.example.mygame", events }, { authorization: `Bearer ${alice.accessToken}` }).then(
          () => "OK",
          (err: { code: number }) => err.code,
        );
      const event = (i: number) => ({ type: "AppOpen", timestamp: ts, event_id: `m-${i}` });
      // Plain batches: the one-pass check answers.
      assert.equal(await call(alice.userId, [event(1), event(2), event(3), event(4)]), "OK");
      assert.equal(await call(alice.userId, [event(5), event(6), event(7), event(8)]), "OK");
      // A non-ASCII id is valid but left to the exact path.
      assert.equal(await call(alice.userId, [{ type: "AppOpen", timestamp: ts, event_id: "évènement" }]), "OK");
      // Invalid (3 = INVALID_ARGUMENT) and another player's batch (7 = PERMISSION_DENIED).
      assert.equal(await call(alice.userId, [event(9), { type: "AppOpen", timestamp: ts, event_id: "m-9" }, event(10)]), 3);
      assert.equal(await call(bob.userId, [event(11), event(12)]), 7);
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
      assert.equal(delta("playsmart_ingest_batches_total", { outcome: "accepted" }), 3);
      assert.equal(delta("playsmart_ingest_events_total", { outcome: "accepted" }), 9);
      assert.equal(delta("playsmart_ingest_batches_total", { outcome: "invalid" }), 1);
      assert.equal(delta("playsmart_ingest_events_total", { outcome: "invalid" }), 3);
      assert.equal(delta("playsmart_ingest_batches_total", { outcome: "forbidden" }), 1);
      assert.equal(delta("playsmart_ingest_events_total", { outcome: "forbidden" }), 2);
      assert.equal(delta("playsmart_stream_length", { shard: "0" }), 3);
    } finally {
      client.close();
    }
  });
});
